package dev.gblm.stream;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The held-out rule: which calibration records are kept out of every statistic, for quality measurements. A record is
 * held out at fraction {@code h} iff {@link #position} of its (topic, key) is below {@code h}. The position is a
 * stable hash of the record's identity, not of its offset, so the rule is the same for every worker, every replay
 * and the exporter reading the topic again, whichever worker consumed the record.
 *
 * <p>Fractions nest: the records held out at {@code h1 <= h2} are a subset of those held out at {@code h2}. Workers
 * hold out the profile's fraction ({@link Profile#holdout()}) and never put those records into statistics; a job's
 * {@link JobSpec#holdout()} must not exceed it, so the job's held-out records are held out by every worker of its
 * profile. Records without a key are never held out (they have no stable identity across producers' retries).
 */
public final class HoldOut {
    private HoldOut() {}

    /**
     * Where (topic, key) falls in {@code [0, 1)}: the first 53 bits of SHA-256 over a versioned text of the topic
     * and the key bytes, as a fraction (exact in a double). Null key: 1 (never held out).
     */
    public static double position(String topic, byte[] key) {
        if (key == null) {
            return 1.0;
        }
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(("gblm-holdout-v1\n" + topic + "\n").getBytes(StandardCharsets.UTF_8));
            byte[] h = d.digest(key);
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (h[i] & 0xff);
            }
            return (v >>> 11) * 0x1.0p-53;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether the record (topic, key) is held out at {@code fraction} (0 = none). */
    public static boolean isHeldOut(String topic, byte[] key, double fraction) {
        return fraction > 0 && position(topic, key) < fraction;
    }
}
