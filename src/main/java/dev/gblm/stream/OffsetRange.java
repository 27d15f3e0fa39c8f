package dev.gblm.stream;

/** Offsets {@code [fromInclusive, toExclusive)} of one partition of a calibration topic that a slice consumed. */
public record OffsetRange(String topic, int partition, long fromInclusive, long toExclusive) {
    public OffsetRange {
        if (topic == null || topic.isEmpty() || partition < 0 || fromInclusive < 0 || toExclusive < fromInclusive) {
            throw new RecordFormatException("bad offset range " + topic + "-" + partition + " [" + fromInclusive + "," + toExclusive + ")");
        }
    }
}
