package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.gblm.GblmException;
import dev.gblm.stats.RowBlockPlanner;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * What calibration statistics depend on; statistics of different profiles never merge. A worker group serves one
 * profile. Besides the model fingerprint, sequence length, gradient scale and the statistic kinds, the profile fixes
 * the row-block layout ({@code blockBytes}, the record size limit given to {@link RowBlockPlanner}): partial sums
 * only add up when every slice cut the module's rows at the same places.
 *
 * @param model      model fingerprint (opaque string the engine derives from the checkpoint)
 * @param seqLen     tokens per sample (BOS + truncation length)
 * @param gradScale  gradient scale {@code s} (default 100)
 * @param stats      statistic kind bits ({@link StatKinds#bits()}: GRAD=1, ACT=2, HESSIAN=4)
 * @param blockBytes row-block record limit of the layout (default 1 MiB)
 * @param holdout    fraction of the calibration records the workers hold out of the statistics ({@link HoldOut}),
 *                   in {@code [0, 1)}; 0 (the default) is omitted from the JSON and from the id's text, so profiles
 *                   without hold-out keep their ids
 */
public record Profile(String model, int seqLen, float gradScale, int stats, long blockBytes,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) double holdout) {
    public static final float DEFAULT_GRAD_SCALE = 100f;

    public Profile {
        if (model == null || model.isBlank()) {
            throw new GblmException("profile needs a model fingerprint");
        }
        if (seqLen <= 1) {
            throw new GblmException("profile seqLen must be > 1, got " + seqLen);
        }
        if (!(gradScale > 0) || Float.isInfinite(gradScale)) {
            throw new GblmException("profile gradScale must be > 0, got " + gradScale);
        }
        try {
            StatKinds.fromBits(stats);
        } catch (IllegalArgumentException e) {
            throw new GblmException("profile: " + e.getMessage());
        }
        if (blockBytes <= 0) {
            throw new GblmException("profile blockBytes must be > 0, got " + blockBytes);
        }
        if (!(holdout >= 0 && holdout < 1)) {
            throw new GblmException("profile holdout must be a fraction in [0, 1), got " + holdout);
        }
    }

    /** A profile without hold-out. */
    public Profile(String model, int seqLen, float gradScale, int stats, long blockBytes) {
        this(model, seqLen, gradScale, stats, blockBytes, 0);
    }

    /** What streaming workers collect: gradients and activations (SparseGPT's Hessians are batch-only). */
    public static final StatKinds STREAMING_KINDS = StatKinds.of(StatKind.GRAD, StatKind.ACT);

    /**
     * THE profile of the statistics collected for {@code checkpoint}: both the worker and {@code gblm job submit
     * --model} derive it here, so they cannot disagree. {@code seqLen} null or 0 = the model's context; the
     * statistics are {@link #STREAMING_KINDS}; {@code blockBytes} is the worker's record limit (row-block layout).
     */
    public static Profile forCheckpoint(dev.gblm.model.Checkpoint checkpoint, Integer seqLen, float gradScale,
            long blockBytes) {
        return forCheckpoint(checkpoint, seqLen, gradScale, blockBytes, 0);
    }

    /** As {@link #forCheckpoint(dev.gblm.model.Checkpoint, Integer, float, long)}, holding out {@code holdout}. */
    public static Profile forCheckpoint(dev.gblm.model.Checkpoint checkpoint, Integer seqLen, float gradScale,
            long blockBytes, double holdout) {
        int len = seqLen != null && seqLen != 0 ? seqLen : checkpoint.config().maxPositionEmbeddings();
        return new Profile(checkpoint.fingerprint(), len, gradScale, STREAMING_KINDS.bits(), blockBytes, holdout);
    }

    /** {@link #forCheckpoint(dev.gblm.model.Checkpoint, Integer, float, long)} with the default 1 MiB layout. */
    public static Profile forCheckpoint(dev.gblm.model.Checkpoint checkpoint, Integer seqLen, float gradScale) {
        return forCheckpoint(checkpoint, seqLen, gradScale, RowBlockPlanner.DEFAULT_MAX_BYTES);
    }

    public static Profile of(String model, int seqLen, float gradScale, StatKinds kinds) {
        return new Profile(model, seqLen, gradScale, kinds.bits(), RowBlockPlanner.DEFAULT_MAX_BYTES);
    }

    @JsonIgnore
    public StatKinds kinds() {
        return StatKinds.fromBits(stats);
    }

    /**
     * Short stable id: the first 8 bytes (16 hex digits) of SHA-256 over a canonical, versioned text of every
     * field. Used in record keys, so it must never change for a given profile. The hold-out fraction is appended
     * only when non-zero, so every profile without hold-out keeps the id it had before the field existed.
     */
    @JsonIgnore
    public String id() {
        String canonical = "gblm-profile-v1\nmodel=" + model + "\nseqLen=" + seqLen + "\ngradScale="
                + Float.floatToIntBits(gradScale) + "\nstats=" + stats + "\nblockBytes=" + blockBytes + "\n"
                + (holdout == 0 ? "" : "holdout=" + Double.doubleToLongBits(holdout) + "\n");
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@code id} has the shape of a profile id (16 lower-case hex digits). */
    public static boolean isValidId(String id) {
        return id != null && id.matches("[0-9a-f]{16}");
    }

    public static String requireValidId(String id) {
        if (!isValidId(id)) {
            throw new GblmException("bad profile id '" + id + "' (expected 16 lower-case hex digits)");
        }
        return Objects.requireNonNull(id);
    }
}
