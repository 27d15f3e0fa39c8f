package dev.gblm.stream.finalizer;

import dev.gblm.ops.Health;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import org.apache.kafka.streams.KafkaStreams;

/**
 * Recent stream-thread failures, for health. A replaced thread keeps KafkaStreams RUNNING, so the state alone says
 * UP while a thread dies, is replaced and dies again on the same record; the failures say otherwise. Thread-safe:
 * written by stream threads, read by {@code /health}.
 */
final class ThreadFailures {
    /** Failures older than this no longer count. */
    static final Duration WINDOW = Duration.ofMinutes(5);
    /**
     * Failures within {@link #WINDOW} that make the finalizer DOWN: one replaced thread may be a transient broker
     * problem it recovered from; a replacement failing again means it is not recovering.
     */
    static final int DOWN_AT = 3;
    /** Enough timestamps to decide; a failure loop must not grow the deque without bound. */
    private static final int KEEP = 1000;

    private final Deque<Long> times = new ArrayDeque<>();
    private long total;
    private String last;

    synchronized void record(Throwable e, long nowMs) {
        times.addLast(nowMs);
        while (times.size() > KEEP) {
            times.removeFirst();
        }
        total++;
        last = e.getClass().getName() + (e.getMessage() == null ? "" : ": " + e.getMessage().lines().findFirst().orElse(""));
    }

    synchronized int recent(long nowMs) {
        long cutoff = nowMs - WINDOW.toMillis();
        while (!times.isEmpty() && times.peekFirst() <= cutoff) {
            times.removeFirst();
        }
        return times.size();
    }

    synchronized long total() {
        return total;
    }

    synchronized String last() {
        return last;
    }

    /** The finalizer's health: its state must be running and its threads must not keep failing. */
    Health health(KafkaStreams.State state, long nowMs) {
        int n = recent(nowMs);
        String failures = n == 0 ? "" : " (" + n + " stream-thread failure" + (n == 1 ? "" : "s") + " in the last "
                + WINDOW.toMinutes() + " min, last: " + last() + ")";
        if (state == null) {
            return Health.down("stopped" + failures);
        }
        if (!state.isRunningOrRebalancing()) {
            return Health.down(state.name() + failures);
        }
        return n >= DOWN_AT ? Health.down(state.name() + ", stream threads keep failing" + failures) : Health.up(state.name() + failures);
    }
}
