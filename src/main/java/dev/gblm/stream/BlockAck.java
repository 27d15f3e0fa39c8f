package dev.gblm.stream;

/** Block task → planner on {@code gblm.finalize-acks} (key = profile id, JSON): one mask block of an epoch was emitted. */
public record BlockAck(String job, int epoch, String block) {}
