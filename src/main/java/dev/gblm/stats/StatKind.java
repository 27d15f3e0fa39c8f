package dev.gblm.stats;

/** One kind of calibration statistic a {@link ModuleStats} may carry. The bit is part of the wire format. */
public enum StatKind {
    /** Gradient sums {@code sum |s·g|} and {@code sum (s·g)^2}, per weight (rows × in). */
    GRAD(1),
    /** Activation sum of squares {@code sum x_j^2}, per input column (in). */
    ACT(2),
    /** SparseGPT's {@code sum X^T X}, per input column pair (in × in). */
    HESSIAN(4);

    private final int bit;

    StatKind(int bit) {
        this.bit = bit;
    }

    public int bit() {
        return bit;
    }
}
