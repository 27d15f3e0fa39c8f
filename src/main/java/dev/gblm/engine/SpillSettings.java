package dev.gblm.engine;

import dev.gblm.GblmException;
import java.nio.file.Path;

/**
 * When and where the memory-bounded passes move what they hold to disk: dense gradient sums of sequential pruning
 * ({@link GradientStore}) and the per-sample layer boundaries ({@link BoundaryStore}: the layer-major pass's
 * activations and dL/dh, sequential pruning's hidden states). Each spills when the bytes it would hold exceed its
 * threshold; files go to a fresh {@code gblm-spill-*} directory under {@code dir} (the JVM's {@code java.io.tmpdir}
 * when null), deleted when the pass ends, also on failure.
 *
 * @param dir           parent of the spill directories, or null for {@code java.io.tmpdir}
 * @param gradientBytes gradient sums held in the Java heap up to this size, spilled beyond
 * @param boundaryBytes layer boundaries (activations, dL/dh, hidden states) held on the engine's device up to this
 *                      size per store, spilled beyond
 */
public record SpillSettings(Path dir, long gradientBytes, long boundaryBytes) {
    /** System property overriding the gradient-store threshold (bytes). */
    public static final String GRADIENT_BYTES_PROPERTY = "gblm.spill.bytes";
    /** System property overriding the boundary-activation threshold (bytes). */
    public static final String BOUNDARY_BYTES_PROPERTY = "gblm.spill.boundary.bytes";
    public static final long DEFAULT_GRADIENT_BYTES = 1L << 30;
    public static final long DEFAULT_BOUNDARY_BYTES = 2L << 30;

    public SpillSettings {
        if (gradientBytes < 0 || boundaryBytes < 0) {
            throw new GblmException("spill thresholds must be >= 0 bytes, got " + gradientBytes + " and "
                    + boundaryBytes);
        }
    }

    /** The defaults, or the system properties' thresholds where set; {@code java.io.tmpdir}. */
    public static SpillSettings defaults() {
        return new SpillSettings(null, bytes(GRADIENT_BYTES_PROPERTY, DEFAULT_GRADIENT_BYTES),
                bytes(BOUNDARY_BYTES_PROPERTY, DEFAULT_BOUNDARY_BYTES));
    }

    /** These thresholds with spill directories under {@code parent} (null: {@code java.io.tmpdir}). */
    public SpillSettings inDirectory(Path parent) {
        return new SpillSettings(parent, gradientBytes, boundaryBytes);
    }

    /** These settings with both thresholds replaced (0 spills everything: tests use it). */
    public SpillSettings withThresholds(long gradient, long boundary) {
        return new SpillSettings(dir, gradient, boundary);
    }

    private static long bytes(String property, long fallback) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            return fallback;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new GblmException("system property " + property + " must be a number of bytes, got '" + v + "'");
        }
    }
}
