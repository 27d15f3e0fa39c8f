package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.List;

/**
 * An instruction from the planner to the block task that owns one statistics block, on the internal topic
 * {@code gblm.finalize} (key = the block's {@link BlockKey}, JSON; same partition count as {@code gblm.stats}).
 *
 * <ul>
 *   <li>{@code FINALIZE}: sum the block's statistics of exactly {@code sliceIds} (in that order), score, select
 *       the mask with the job's method and pattern, emit the mask block for {@code job}/{@code epoch}.
 *   <li>{@code RETIRE}: no epoch will need these slices' blocks any more: delete them (after any pending
 *       FINALIZE of the block that still needs them).
 *   <li>{@code CLAIM}: the planner accepted these slices: their blocks are live until RETIRE. A block still
 *       unclaimed after the finalizer's {@code orphanRetention} is reported to the planner
 *       ({@link Topics#HEADER_UNCLAIMED}), which answers with CLAIM if it accepted the slice, else marks the slice
 *       expired and RETIREs the block: blocks are only ever deleted on the planner's decision.
 *   <li>{@code FOLD}: make the block's base sum of {@code job} version {@code epoch}: the base {@code base} (none
 *       for the first fold) plus {@code sliceIds}, left-folded in that order ({@link EpochBase}). A FOLD whose version
 *       the block's base already has is a replay and changes nothing.
 * </ul>
 *
 * @param rowEnd             end of the block's rows (the layout's; checked against every slice's record)
 * @param in                 columns of the module
 * @param magnitudeThreshold unstructured magnitude only: the whole matrix's threshold
 * @param base               FINALIZE and FOLD: the job's base sum the instruction starts from (null = none, and in
 *                           older records); only its job and version matter here ({@link EpochBase#reference()})
 * @param gradScale          FINALIZE of a gblm job with an explicit alpha ({@link JobSpec#alphaValue()}) or with
 *                           {@code alpha=auto} ({@link JobSpec#needsGradScale()}): the profile's gradient scale
 *                           {@code s}, so the block can weigh the stored gradients by {@code alpha/s}; null (and absent
 *                           from the JSON) otherwise. An {@code alpha=auto} FINALIZE makes one mask block per alpha of
 *                           the spec's {@link JobSpec#alphaGrid()}, each with header {@link Topics#HEADER_ALPHA}
 */
public record BlockInstruction(Type type, String job, int epoch, JobSpec spec, int rowEnd, int in, List<String> sliceIds,
        Float magnitudeThreshold, EpochBase base, Float gradScale) {
    public enum Type { FINALIZE, RETIRE, CLAIM, FOLD }

    /** An instruction without a base. */
    public BlockInstruction(Type type, String job, int epoch, JobSpec spec, int rowEnd, int in, List<String> sliceIds,
            Float magnitudeThreshold) {
        this(type, job, epoch, spec, rowEnd, in, sliceIds, magnitudeThreshold, null);
    }

    /** An instruction without a gradient scale (the job's alpha is the statistics' own {@code s}). */
    public BlockInstruction(Type type, String job, int epoch, JobSpec spec, int rowEnd, int in, List<String> sliceIds,
            Float magnitudeThreshold, EpochBase base) {
        this(type, job, epoch, spec, rowEnd, in, sliceIds, magnitudeThreshold, base, null);
    }

    @JsonCreator
    public BlockInstruction {
        sliceIds = sliceIds == null ? List.of() : List.copyOf(sliceIds);
    }

    /** Checks that the instruction has what its type needs; throws {@link RecordFormatException} with the reason. */
    public BlockInstruction validate() {
        if (type == null) {
            throw new RecordFormatException("instruction has no type (FINALIZE, RETIRE, CLAIM or FOLD)");
        }
        if (sliceIds.isEmpty() || sliceIds.stream().anyMatch(id -> id == null || id.isEmpty() || id.indexOf('|') >= 0)) {
            throw new RecordFormatException(type + " instruction needs slice ids without '|', got " + sliceIds);
        }
        if (type == Type.FINALIZE) {
            if (!Ids.isSafe(job) || epoch < 1 || spec == null || rowEnd <= 0 || in <= 0) {
                throw new RecordFormatException("FINALIZE needs a valid job, epoch >= 1, spec, rowEnd and in; got job "
                        + job + ", epoch " + epoch + ", spec " + (spec == null ? "none" : spec.id()) + ", rowEnd " + rowEnd
                        + ", in " + in);
            }
            try {
                spec.validated();
            } catch (RuntimeException e) {
                throw new RecordFormatException("FINALIZE for job " + job + " carries an invalid spec: " + e.getMessage());
            }
            if (spec.needsMatrixThreshold() && magnitudeThreshold == null) {
                throw new RecordFormatException("FINALIZE for unstructured magnitude job " + job + " has no matrix threshold");
            }
            Double alpha = spec.alphaValue();
            boolean needsScale = spec.isAutoAlpha() || alpha != null && !alpha.isInfinite();
            if (needsScale && (gradScale == null || !(gradScale > 0) || gradScale.isInfinite())) {
                throw new RecordFormatException("FINALIZE for job " + job + " with alpha " + spec.alpha()
                        + " needs the profile's gradient scale, got " + gradScale);
            }
        }
        if (type == Type.FOLD && (!Ids.isSafe(job) || epoch < 1)) {
            throw new RecordFormatException("FOLD needs a valid job and a version >= 1; got job " + job + ", epoch " + epoch);
        }
        if (gradScale != null && type != Type.FINALIZE) {
            throw new RecordFormatException(type + " instruction carries a gradient scale");
        }
        if (base != null) {
            if (type != Type.FINALIZE && type != Type.FOLD) {
                throw new RecordFormatException(type + " instruction carries a base");
            }
            if (!base.job().equals(job) || base.epoch() < 1 || base.epoch() >= epoch) {
                throw new RecordFormatException(type + " of job " + job + " version " + epoch + " cannot start from base "
                        + base.job() + "@" + base.epoch());
            }
        }
        return this;
    }

    /** Fold {@code sliceIds} into {@code job}'s base of version {@code from} (null = none), giving version {@code epoch}. */
    public static BlockInstruction fold(String job, int epoch, EpochBase from, List<String> sliceIds) {
        return new BlockInstruction(Type.FOLD, job, epoch, null, 0, 0, sliceIds, null, from);
    }

    public static BlockInstruction retire(List<String> sliceIds) {
        return new BlockInstruction(Type.RETIRE, null, 0, null, 0, 0, sliceIds, null);
    }

    public static BlockInstruction claim(List<String> sliceIds) {
        return new BlockInstruction(Type.CLAIM, null, 0, null, 0, 0, sliceIds, null);
    }
}
