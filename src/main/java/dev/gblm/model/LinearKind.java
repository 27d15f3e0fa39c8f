package dev.gblm.model;

/** The seven prunable linear modules of a LLaMA decoder layer, in Hugging Face order. */
public enum LinearKind {
    Q_PROJ("self_attn.q_proj"),
    K_PROJ("self_attn.k_proj"),
    V_PROJ("self_attn.v_proj"),
    O_PROJ("self_attn.o_proj"),
    GATE_PROJ("mlp.gate_proj"),
    UP_PROJ("mlp.up_proj"),
    DOWN_PROJ("mlp.down_proj");

    private final String suffix;

    LinearKind(String suffix) {
        this.suffix = suffix;
    }

    /** Short name as used in reports and keys, e.g. {@code q_proj}. */
    public String shortName() {
        return suffix.substring(suffix.indexOf('.') + 1);
    }

    /** Hugging Face tensor name of this module's weight in decoder layer {@code layer}. */
    public String weightName(int layer) {
        return "model.layers." + layer + "." + suffix + ".weight";
    }

    public static LinearKind fromShortName(String name) {
        for (LinearKind k : values()) {
            if (k.shortName().equals(name)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown linear module '" + name + "'");
    }
}
