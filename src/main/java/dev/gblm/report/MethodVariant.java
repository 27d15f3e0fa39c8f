package dev.gblm.report;

import dev.gblm.GblmException;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** A pruning method with its gradient norm, as the quality report names it ({@code gblm-l1}, ...). */
public enum MethodVariant {
    MAGNITUDE("magnitude", Method.MAGNITUDE, GradNorm.L1),
    WANDA("wanda", Method.WANDA, GradNorm.L1),
    SPARSEGPT("sparsegpt", Method.SPARSEGPT, GradNorm.L1),
    GRADIENT_L1("gradient-l1", Method.GRADIENT, GradNorm.L1),
    GRADIENT_L2("gradient-l2", Method.GRADIENT, GradNorm.L2),
    GBLM_L1("gblm-l1", Method.GBLM, GradNorm.L1),
    GBLM_L2("gblm-l2", Method.GBLM, GradNorm.L2);

    private final String label;
    private final Method method;
    private final GradNorm gradNorm;

    MethodVariant(String label, Method method, GradNorm gradNorm) {
        this.label = label;
        this.method = method;
        this.gradNorm = gradNorm;
    }

    public String label() {
        return label;
    }

    public Method method() {
        return method;
    }

    public GradNorm gradNorm() {
        return gradNorm;
    }

    /** Magnitude reads no calibration data at all. */
    public boolean needsCalibration() {
        return method != Method.MAGNITUDE;
    }

    /**
     * Whether sequential and one-shot give the same mask: true when the method reads no activation
     * statistics (magnitude: nothing; gradient: gradients, which always come from the dense model).
     */
    public boolean modeIndependent() {
        return method == Method.MAGNITUDE || method == Method.GRADIENT;
    }

    public static MethodVariant parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (MethodVariant v : values()) {
            if (v.label.equals(n)) {
                return v;
            }
        }
        throw new GblmException("unknown method '" + name + "' (expected one of "
                + Arrays.stream(values()).map(MethodVariant::label).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return label;
    }
}
