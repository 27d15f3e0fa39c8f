package dev.gblm.engine;

import dev.gblm.GblmException;
import java.util.Locale;

/** Where the engine keeps weights, activations and statistics ({@code --device}). */
public enum ComputeDevice {
    /** The host: PyTorch's CPU kernels. */
    CPU,
    /** The first CUDA device; refused in one line when the loaded PyTorch native has none. */
    GPU,
    /** The GPU when the engine sees one, else the CPU. */
    AUTO;

    /** {@code cpu}, {@code gpu} or {@code auto} (any case). */
    public static ComputeDevice parse(String s) {
        for (ComputeDevice d : values()) {
            if (d.name().equalsIgnoreCase(s.trim())) {
                return d;
            }
        }
        throw new GblmException("unknown --device '" + s + "' (cpu, gpu or auto)");
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
