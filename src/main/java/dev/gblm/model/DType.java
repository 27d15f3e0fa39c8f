package dev.gblm.model;

import dev.gblm.GblmException;

/** Element types of stored tensors. Compute is always float32; these only describe storage. */
public enum DType {
    F32(4, "F32", "float32"),
    F16(2, "F16", "float16"),
    BF16(2, "BF16", "bfloat16");

    private final int bytes;
    private final String safetensorsName;
    private final String torchName;

    DType(int bytes, String safetensorsName, String torchName) {
        this.bytes = bytes;
        this.safetensorsName = safetensorsName;
        this.torchName = torchName;
    }

    public int bytes() {
        return bytes;
    }

    /** Name used in safetensors headers ({@code F32}, {@code F16}, {@code BF16}). */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** Name used in Hugging Face {@code config.json} {@code torch_dtype}. */
    public String torchName() {
        return torchName;
    }

    public static DType fromSafetensors(String name) {
        for (DType d : values()) {
            if (d.safetensorsName.equals(name)) {
                return d;
            }
        }
        throw new GblmException("unsupported safetensors dtype '" + name + "' (supported: F32, F16, BF16)");
    }

    /** Parses a torch dtype name; returns null for null/unknown so callers can default. */
    public static DType fromTorchName(String name) {
        if (name == null) {
            return null;
        }
        for (DType d : values()) {
            if (d.torchName.equals(name)) {
                return d;
            }
        }
        return null;
    }
}
