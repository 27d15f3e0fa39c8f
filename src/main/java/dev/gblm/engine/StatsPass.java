package dev.gblm.engine;

import dev.gblm.GblmException;
import java.util.Arrays;
import java.util.Locale;

/**
 * How a {@link StatsCollector} differentiates a sample: {@link #LAYER} with {@link LayerMajorPass} (memory of one
 * layer's autograd graph), {@link #MODEL} with {@link LlamaModel#forwardBackward} (the whole network's graph, the
 * reference). Both give the same statistics (LayerMajorPassTest); forward-only collections are the same either way.
 */
public enum StatsPass {
    LAYER,
    MODEL;

    /** The default: layer-major, proven equal to the whole-model pass (see docs/engine.md, "Memory model"). */
    public static final StatsPass DEFAULT = LAYER;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code layer} or {@code model} (case-insensitive); a clear one-line error otherwise. */
    public static StatsPass parse(String s) {
        for (StatsPass p : values()) {
            if (p.cliName().equalsIgnoreCase(s == null ? "" : s.trim())) {
                return p;
            }
        }
        throw new GblmException("unknown statistics pass '" + s + "' (expected one of "
                + String.join(", ", Arrays.stream(values()).map(StatsPass::cliName).toList()) + ")");
    }
}
