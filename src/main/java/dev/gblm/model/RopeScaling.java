package dev.gblm.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import java.util.Locale;

/**
 * A Hugging Face {@code rope_scaling} the engine honours: how the rotary inverse frequencies differ from the plain
 * {@code 1 / theta^(2i/d)}. Types: {@code linear} (positions divided by {@code factor}, i.e. every frequency divided
 * by it), {@code dynamic} (NTK: the base grows only for sequences longer than {@code max_position_embeddings}, which
 * the engine refuses, so its frequencies are the plain ones) and {@code llama3} (Llama 3.1: low frequencies divided
 * by {@code factor}, high ones kept, a smooth blend between). Other types (yarn, longrope, ...) are refused.
 *
 * @param originalMaxPositionEmbeddings llama3's pre-training context; 0 when absent (linear, dynamic)
 */
public record RopeScaling(Type type, double factor, double lowFreqFactor, double highFreqFactor,
        int originalMaxPositionEmbeddings) {

    /** The supported {@code rope_type} values. */
    public enum Type {
        LINEAR,
        DYNAMIC,
        LLAMA3;

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public RopeScaling {
        if (!(factor >= 1.0) || Double.isInfinite(factor)) {
            throw new GblmException("unsupported config: rope_scaling factor " + factor + " (must be a number >= 1)");
        }
        if (type == Type.LLAMA3 && (!(highFreqFactor > lowFreqFactor) || !(lowFreqFactor > 0)
                || originalMaxPositionEmbeddings <= 0)) {
            throw new GblmException("unsupported config: rope_scaling llama3 needs 0 < low_freq_factor < "
                    + "high_freq_factor and original_max_position_embeddings > 0, got low " + lowFreqFactor + ", high "
                    + highFreqFactor + ", original " + originalMaxPositionEmbeddings);
        }
    }

    public static RopeScaling linear(double factor) {
        return new RopeScaling(Type.LINEAR, factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMax) {
        return new RopeScaling(Type.LLAMA3, factor, lowFreqFactor, highFreqFactor, originalMax);
    }

    /**
     * Parses a {@code rope_scaling} object (type under {@code rope_type}, or the older {@code type}); null for JSON
     * null, a missing node or type {@code default}; a {@link GblmException} naming the type for anything else.
     */
    public static RopeScaling fromJson(JsonNode n) {
        if (n == null || n.isNull() || n.isMissingNode()) {
            return null;
        }
        if (!n.isObject()) {
            throw new GblmException("unsupported config: rope_scaling " + n + " is not an object");
        }
        String type = n.hasNonNull("rope_type") ? n.get("rope_type").asText() : n.path("type").asText("default");
        switch (type) {
            case "default":
                return null;
            case "linear":
                return new RopeScaling(Type.LINEAR, number(n, "factor"), 0, 0, 0);
            case "dynamic":
                return new RopeScaling(Type.DYNAMIC, number(n, "factor"), 0, 0,
                        n.path("original_max_position_embeddings").asInt(0));
            case "llama3":
                if (!n.path("original_max_position_embeddings").canConvertToInt()) {
                    throw new GblmException("unsupported config: rope_scaling llama3 lacks integer "
                            + "'original_max_position_embeddings'");
                }
                return llama3(number(n, "factor"), number(n, "low_freq_factor"), number(n, "high_freq_factor"),
                        n.get("original_max_position_embeddings").asInt());
            default:
                throw new GblmException("unsupported config: rope_scaling type '" + type
                        + "' (supported: linear, dynamic, llama3)");
        }
    }

    /** The {@code rope_scaling} object as Hugging Face writes it. */
    public ObjectNode toJson() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("rope_type", type.jsonName());
        n.put("factor", factor);
        if (type == Type.LLAMA3) {
            n.put("low_freq_factor", lowFreqFactor);
            n.put("high_freq_factor", highFreqFactor);
        }
        if (originalMaxPositionEmbeddings > 0) {
            n.put("original_max_position_embeddings", originalMaxPositionEmbeddings);
        }
        return n;
    }

    /**
     * The scaled inverse frequencies, from the plain ones (in place, and returned). The llama3 rule is that of
     * Hugging Face's {@code _compute_llama3_parameters}: with wavelength {@code 2 pi / f}, a wavelength above
     * {@code original / low_freq_factor} divides f by factor, one below {@code original / high_freq_factor} keeps f,
     * and in between f becomes {@code (1 - s) f / factor + s f} with
     * {@code s = (original / wavelength - low) / (high - low)}.
     */
    double[] apply(double[] invFreq) {
        switch (type) {
            case LINEAR -> {
                for (int i = 0; i < invFreq.length; i++) {
                    invFreq[i] /= factor;
                }
            }
            case DYNAMIC -> {
                // base * (factor * seqLen / maxPos - (factor - 1))^(d/(d-2)) is the plain base for every
                // seqLen <= max_position_embeddings, and the engine refuses longer sequences
            }
            case LLAMA3 -> {
                double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
                double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
                for (int i = 0; i < invFreq.length; i++) {
                    double f = invFreq[i];
                    double wavelen = 2 * Math.PI / f;
                    if (wavelen > lowFreqWavelen) {
                        invFreq[i] = f / factor;
                    } else if (wavelen >= highFreqWavelen) {
                        double s = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                                / (highFreqFactor - lowFreqFactor);
                        invFreq[i] = (1 - s) * f / factor + s * f;
                    }
                }
            }
        }
        return invFreq;
    }

    private static double number(JsonNode n, String field) {
        if (!n.path(field).isNumber()) {
            throw new GblmException("unsupported config: rope_scaling " + n.path("rope_type").asText(
                    n.path("type").asText()) + " lacks number '" + field + "'");
        }
        return n.get(field).asDouble();
    }
}
