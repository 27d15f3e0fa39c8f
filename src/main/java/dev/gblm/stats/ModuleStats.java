package dev.gblm.stats;

import dev.gblm.model.LinearKind;
import java.util.Arrays;
import java.util.Objects;

/**
 * Calibration statistics of one linear module (weight {@code W}, shape {@code [out, in]}) of one decoder
 * layer, or of a row block {@code [rowStart, rowEnd)} of it. Every statistic is a plain float32 sum plus
 * counts, so statistics form a commutative monoid under {@link #merge}: partial sums from any number of
 * workers, in any order, add up to the statistics of all their samples (up to float32 rounding, since
 * float addition is commutative but only approximately associative).
 *
 * <ul>
 *   <li>{@code gradL1[r*in + j]} = {@code sum_n |s·g_n[r,j]|} and {@code gradL2Sq} = {@code sum_n (s·g_n)^2}
 *       for the block's rows only (present with {@link StatKind#GRAD});
 *   <li>{@code actSq[j]} = sum over samples and tokens of {@code x_j^2} (present with {@link StatKind#ACT});
 *   <li>{@code hessian[i*in + j]} = {@code sum_n (X_n^T X_n)[i,j]}, the plain sum; SparseGPT's
 *       {@code H = 2/N · sum} is formed at pruning time from this and {@link #sampleCount()}.
 * </ul>
 *
 * <p>The activation and Hessian statistics belong to input columns, not rows: every row block of a module
 * carries them whole (each block is then self-contained for scoring). They are therefore duplicated across
 * the blocks of one module; a consumer that merges blocks back must not add them up twice.
 *
 * <p>The arrays are exposed, not copied, so the engine can accumulate into them without allocation; this
 * class is a mutable accumulator and not thread-safe.
 */
public final class ModuleStats {
    private final int layer;
    private final LinearKind module;
    private final int rowStart;
    private final int rowEnd;
    private final int in;
    private final StatKinds kinds;
    private final float[] gradL1;
    private final float[] gradL2Sq;
    private final float[] actSq;
    private final float[] hessian;
    private long sampleCount;
    private long tokenCount;

    /** Wraps existing arrays (not copied); arrays of absent kinds must be null. Validates every length. */
    public ModuleStats(int layer, LinearKind module, int rowStart, int rowEnd, int in, StatKinds kinds,
            float[] gradL1, float[] gradL2Sq, float[] actSq, float[] hessian, long sampleCount, long tokenCount) {
        if (layer < 0) {
            throw new IllegalArgumentException("layer must be >= 0: " + layer);
        }
        if (rowStart < 0 || rowEnd <= rowStart) {
            throw new IllegalArgumentException("bad row range [" + rowStart + "," + rowEnd + ")");
        }
        if (in <= 0) {
            throw new IllegalArgumentException("in must be > 0: " + in);
        }
        if (sampleCount < 0 || tokenCount < 0) {
            throw new IllegalArgumentException("counts must be >= 0");
        }
        this.layer = layer;
        this.module = Objects.requireNonNull(module, "module");
        this.rowStart = rowStart;
        this.rowEnd = rowEnd;
        this.in = in;
        this.kinds = Objects.requireNonNull(kinds, "kinds");
        long rowsIn = (long) (rowEnd - rowStart) * in;
        this.gradL1 = check("gradL1", gradL1, kinds.contains(StatKind.GRAD), rowsIn);
        this.gradL2Sq = check("gradL2Sq", gradL2Sq, kinds.contains(StatKind.GRAD), rowsIn);
        this.actSq = check("actSq", actSq, kinds.contains(StatKind.ACT), in);
        this.hessian = check("hessian", hessian, kinds.contains(StatKind.HESSIAN), (long) in * in);
        this.sampleCount = sampleCount;
        this.tokenCount = tokenCount;
    }

    private static float[] check(String name, float[] a, boolean present, long expected) {
        if (!present) {
            if (a != null) {
                throw new IllegalArgumentException(name + " given but its kind is not in the set");
            }
            return null;
        }
        if (a == null) {
            throw new IllegalArgumentException(name + " missing although its kind is in the set");
        }
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has length " + a.length + ", expected " + expected);
        }
        return a;
    }

    /** Empty statistics (all sums zero, no samples) of rows {@code [rowStart, rowEnd)}. */
    public static ModuleStats zeros(int layer, LinearKind module, int rowStart, int rowEnd, int in, StatKinds kinds) {
        long rowsIn = (long) (rowEnd - rowStart) * in;
        if (rowsIn > Integer.MAX_VALUE || (long) in * in > Integer.MAX_VALUE && kinds.contains(StatKind.HESSIAN)) {
            throw new IllegalArgumentException("statistics too large for one array: rows*in=" + rowsIn);
        }
        boolean g = kinds.contains(StatKind.GRAD);
        return new ModuleStats(layer, module, rowStart, rowEnd, in, kinds,
                g ? new float[(int) rowsIn] : null,
                g ? new float[(int) rowsIn] : null,
                kinds.contains(StatKind.ACT) ? new float[in] : null,
                kinds.contains(StatKind.HESSIAN) ? new float[in * in] : null,
                0, 0);
    }

    // ---- accumulation helpers for the engine (pure array arithmetic) ----

    /**
     * Adds one sample's gradient {@code g} of this block's rows ({@code g[(r-rowStart)*in + j]}):
     * {@code gradL1 += |s·g|}, {@code gradL2Sq += (s·g)^2}, in float32 like the reference.
     */
    public void addGradient(float[] g, float scale) {
        require(StatKind.GRAD);
        if (g.length != gradL1.length) {
            throw new IllegalArgumentException("gradient length " + g.length + " != " + gradL1.length);
        }
        for (int i = 0; i < g.length; i++) {
            float sg = scale * g[i];
            gradL1[i] += Math.abs(sg);
            gradL2Sq[i] += sg * sg;
        }
    }

    /**
     * Adds one sample's module input {@code x} ({@code [tokens, in]} row-major) to the activation and, if
     * present, Hessian sums. Does not count the sample: call {@link #addCounts} once per sample.
     */
    public void addActivations(float[] x, int tokens) {
        if (x.length != (long) tokens * in) {
            throw new IllegalArgumentException("activation length " + x.length + " != tokens*in=" + (long) tokens * in);
        }
        if (kinds.contains(StatKind.ACT)) {
            for (int t = 0; t < tokens; t++) {
                int o = t * in;
                for (int j = 0; j < in; j++) {
                    float v = x[o + j];
                    actSq[j] += v * v;
                }
            }
        }
        if (kinds.contains(StatKind.HESSIAN)) {
            for (int t = 0; t < tokens; t++) {
                int o = t * in;
                for (int i = 0; i < in; i++) {
                    float xi = x[o + i];
                    if (xi == 0f) {
                        continue;
                    }
                    int h = i * in;
                    for (int j = 0; j < in; j++) {
                        hessian[h + j] += xi * x[o + j];
                    }
                }
            }
        }
    }

    public void addCounts(long samples, long tokens) {
        if (samples < 0 || tokens < 0) {
            throw new IllegalArgumentException("counts must be >= 0");
        }
        sampleCount += samples;
        tokenCount += tokens;
    }

    // ---- monoid ----

    /** Adds {@code other} into this (in place) and returns this. Both must describe the same block and kinds. */
    public ModuleStats mergeInPlace(ModuleStats other) {
        requireCompatible(other);
        addInto(gradL1, other.gradL1);
        addInto(gradL2Sq, other.gradL2Sq);
        addInto(actSq, other.actSq);
        addInto(hessian, other.hessian);
        sampleCount += other.sampleCount;
        tokenCount += other.tokenCount;
        return this;
    }

    /** The sum of this and {@code other} as a new object; neither operand changes. */
    public ModuleStats merge(ModuleStats other) {
        requireCompatible(other);
        return copy().mergeInPlace(other);
    }

    private static void addInto(float[] a, float[] b) {
        if (a == null) {
            return;
        }
        for (int i = 0; i < a.length; i++) {
            a[i] += b[i];
        }
    }

    private void requireCompatible(ModuleStats o) {
        if (o.layer != layer || o.module != module || o.rowStart != rowStart || o.rowEnd != rowEnd || o.in != in
                || !o.kinds.equals(kinds)) {
            throw new IllegalArgumentException("cannot merge " + describe() + " with " + o.describe());
        }
    }

    /** Short identity for messages, e.g. {@code layer 3 q_proj rows [0,128) in 4096 [GRAD,ACT]}. */
    public String describe() {
        return "layer " + layer + " " + module.shortName() + " rows [" + rowStart + "," + rowEnd + ") in " + in + " " + kinds;
    }

    /** Deep copy. */
    public ModuleStats copy() {
        return new ModuleStats(layer, module, rowStart, rowEnd, in, kinds, clone(gradL1), clone(gradL2Sq),
                clone(actSq), clone(hessian), sampleCount, tokenCount);
    }

    private static float[] clone(float[] a) {
        return a == null ? null : a.clone();
    }

    /**
     * The statistics of rows {@code [start, end)} (absolute row indices, inside this block), as a copy.
     * Gradient sums are sliced; activation and Hessian sums are per input column and copied whole.
     */
    public ModuleStats rowBlock(int start, int end) {
        if (start < rowStart || end > rowEnd || end <= start) {
            throw new IllegalArgumentException("row block [" + start + "," + end + ") not inside " + describe());
        }
        float[] l1 = null;
        float[] l2 = null;
        if (gradL1 != null) {
            int from = (start - rowStart) * in;
            int to = (end - rowStart) * in;
            l1 = Arrays.copyOfRange(gradL1, from, to);
            l2 = Arrays.copyOfRange(gradL2Sq, from, to);
        }
        return new ModuleStats(layer, module, start, end, in, kinds, l1, l2, clone(actSq), clone(hessian),
                sampleCount, tokenCount);
    }

    private void require(StatKind k) {
        if (!kinds.contains(k)) {
            throw new IllegalStateException(describe() + " has no " + k + " statistics");
        }
    }

    // ---- accessors ----

    public int layer() {
        return layer;
    }

    public LinearKind module() {
        return module;
    }

    public int rowStart() {
        return rowStart;
    }

    public int rowEnd() {
        return rowEnd;
    }

    public int rows() {
        return rowEnd - rowStart;
    }

    public int in() {
        return in;
    }

    public StatKinds kinds() {
        return kinds;
    }

    /** {@code sum |s·g|} of the block's rows, row-major {@code [rows, in]}; null without GRAD. Not a copy. */
    public float[] gradL1() {
        return gradL1;
    }

    /** {@code sum (s·g)^2} of the block's rows, row-major {@code [rows, in]}; null without GRAD. Not a copy. */
    public float[] gradL2Sq() {
        return gradL2Sq;
    }

    /** {@code sum x_j^2} per input column; null without ACT. Not a copy. */
    public float[] actSq() {
        return actSq;
    }

    /** Plain {@code sum X^T X}, row-major {@code [in, in]}; null without HESSIAN. Not a copy. */
    public float[] hessian() {
        return hessian;
    }

    public long sampleCount() {
        return sampleCount;
    }

    public long tokenCount() {
        return tokenCount;
    }

    /** Exact equality of identity, counts and every float bit (tests and idempotence checks). */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ModuleStats)) {
            return false;
        }
        ModuleStats s = (ModuleStats) o;
        return layer == s.layer && module == s.module && rowStart == s.rowStart && rowEnd == s.rowEnd && in == s.in
                && kinds.equals(s.kinds) && sampleCount == s.sampleCount && tokenCount == s.tokenCount
                && Arrays.equals(gradL1, s.gradL1) && Arrays.equals(gradL2Sq, s.gradL2Sq)
                && Arrays.equals(actSq, s.actSq) && Arrays.equals(hessian, s.hessian);
    }

    @Override
    public int hashCode() {
        return Objects.hash(layer, module, rowStart, rowEnd, in, kinds, sampleCount, tokenCount,
                Arrays.hashCode(gradL1), Arrays.hashCode(actSq));
    }

    @Override
    public String toString() {
        return "ModuleStats{" + describe() + ", samples=" + sampleCount + ", tokens=" + tokenCount + "}";
    }
}
