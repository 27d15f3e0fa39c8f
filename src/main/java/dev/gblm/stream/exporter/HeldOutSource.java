package dev.gblm.stream.exporter;

/**
 * Where the exporter reads a job's held-out calibration records from (Kafka in the service, a list in tests).
 */
interface HeldOutSource {
    /** One calibration record as it is on its topic. */
    record Sample(String topic, int partition, long offset, byte[] key, byte[] value, String format) {}

    /** Told each record; returns false to stop the scan. */
    @FunctionalInterface
    interface Visitor {
        boolean accept(Sample s);
    }

    /**
     * Visits every record of {@code topic} that is held out at {@code fraction} ({@link dev.gblm.stream.HoldOut}), in
     * (partition, offset) order, from the beginning of each partition to its end as of the call, until the visitor
     * returns false. Returns false when the visitor stopped the scan.
     */
    boolean scan(String topic, double fraction, Visitor visitor);
}
