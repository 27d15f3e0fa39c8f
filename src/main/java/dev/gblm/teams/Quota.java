package dev.gblm.teams;

import dev.gblm.GblmException;

/**
 * Byte-rate quotas of one Kafka user (the broker throttles each user separately); 0 = no quota.
 *
 * @param producerByteRate bytes per second the user may produce, per broker
 * @param consumerByteRate bytes per second the user may fetch, per broker
 */
public record Quota(long producerByteRate, long consumerByteRate) {
    /** The default produce quota of a team principal: 8 MiB/s. */
    public static final long DEFAULT_PRODUCE_BYTES_PER_SEC = 8L << 20;
    /** No quota at all (service principals). */
    public static final Quota NONE = new Quota(0, 0);

    public Quota {
        if (producerByteRate < 0 || consumerByteRate < 0) {
            throw new GblmException("a quota is a byte rate >= 0 (0 = no quota), got " + Math.min(producerByteRate,
                    consumerByteRate));
        }
    }

    public boolean isNone() {
        return producerByteRate == 0 && consumerByteRate == 0;
    }
}
