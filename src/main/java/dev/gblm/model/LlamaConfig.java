package dev.gblm.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * The LLaMA-family hyper-parameters the engine needs, read from and written to Hugging Face
 * {@code config.json}. Anything the engine cannot honour (rope scaling, biases, other activations,
 * a head_dim that is not hidden/heads) is rejected with a {@link GblmException} rather than ignored.
 */
public record LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int vocabSize,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId,
        String torchDtype) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Set<String> MODEL_TYPES = Set.of("llama", "mistral");

    public LlamaConfig {
        if (hiddenSize <= 0 || intermediateSize <= 0 || numLayers <= 0 || numHeads <= 0 || numKvHeads <= 0
                || vocabSize <= 0 || maxPositionEmbeddings <= 0) {
            throw new GblmException("invalid model config: sizes must be positive");
        }
        if (hiddenSize % numHeads != 0) {
            throw new GblmException("invalid model config: hidden_size " + hiddenSize
                    + " not divisible by num_attention_heads " + numHeads);
        }
        if (numHeads % numKvHeads != 0) {
            throw new GblmException("invalid model config: num_attention_heads " + numHeads
                    + " not divisible by num_key_value_heads " + numKvHeads);
        }
        if ((hiddenSize / numHeads) % 2 != 0) {
            throw new GblmException("invalid model config: head size " + hiddenSize / numHeads + " is odd");
        }
    }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    public int kvDim() {
        return numKvHeads * headDim();
    }

    public static LlamaConfig read(Path configJson) {
        try {
            return fromJson(JSON.readTree(configJson.toFile()));
        } catch (IOException e) {
            throw new GblmException("cannot parse " + configJson + ": " + e.getMessage());
        }
    }

    public static LlamaConfig fromJson(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new GblmException("config.json is not a JSON object");
        }
        String modelType = n.path("model_type").asText("llama");
        if (!MODEL_TYPES.contains(modelType)) {
            throw new GblmException("unsupported model_type '" + modelType + "' (supported: llama, mistral)");
        }
        if (n.hasNonNull("rope_scaling")) {
            throw new GblmException("unsupported config: rope_scaling " + n.get("rope_scaling") + " (only null)");
        }
        if (n.path("attention_bias").asBoolean(false) || n.path("mlp_bias").asBoolean(false)) {
            throw new GblmException("unsupported config: attention_bias/mlp_bias true (LLaMA has no biases)");
        }
        String act = n.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new GblmException("unsupported config: hidden_act '" + act + "' (only silu)");
        }
        int hidden = required(n, "hidden_size");
        int heads = required(n, "num_attention_heads");
        if (n.hasNonNull("head_dim") && heads > 0 && n.get("head_dim").asInt() * heads != hidden) {
            throw new GblmException("unsupported config: head_dim " + n.get("head_dim").asInt()
                    + " != hidden_size / num_attention_heads = " + hidden / heads);
        }
        int maxPos = n.path("max_position_embeddings").asInt(2048);
        if (n.hasNonNull("sliding_window") && n.get("sliding_window").asInt() < maxPos) {
            throw new GblmException("unsupported config: sliding_window " + n.get("sliding_window").asInt()
                    + " shorter than max_position_embeddings " + maxPos);
        }
        String dtype = n.hasNonNull("torch_dtype") ? n.get("torch_dtype").asText()
                : n.hasNonNull("dtype") ? n.get("dtype").asText() : "float32";
        return new LlamaConfig(
                hidden,
                required(n, "intermediate_size"),
                required(n, "num_hidden_layers"),
                heads,
                n.path("num_key_value_heads").asInt(heads),
                required(n, "vocab_size"),
                maxPos,
                n.path("rms_norm_eps").asDouble(1e-6),
                n.path("rope_theta").asDouble(10000.0),
                n.path("tie_word_embeddings").asBoolean(false),
                firstInt(n.get("bos_token_id"), 1),
                firstInt(n.get("eos_token_id"), 2),
                dtype);
    }

    /** Hugging Face {@code config.json} content for a LlamaForCausalLM. */
    public ObjectNode toJson() {
        ObjectNode n = JSON.createObjectNode();
        n.putArray("architectures").add("LlamaForCausalLM");
        n.put("model_type", "llama");
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("num_hidden_layers", numLayers);
        n.put("num_attention_heads", numHeads);
        n.put("num_key_value_heads", numKvHeads);
        n.put("head_dim", headDim());
        n.put("vocab_size", vocabSize);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_theta", ropeTheta);
        n.putNull("rope_scaling");
        n.put("tie_word_embeddings", tieWordEmbeddings);
        n.put("bos_token_id", bosTokenId);
        n.put("eos_token_id", eosTokenId);
        n.put("hidden_act", "silu");
        n.put("attention_bias", false);
        n.put("mlp_bias", false);
        n.put("torch_dtype", torchDtype);
        return n;
    }

    public String toJsonString() {
        try {
            return JSON.writeValueAsString(toJson());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void write(Path configJson) {
        try {
            Files.writeString(configJson, toJsonString() + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + configJson + ": " + e.getMessage(), e);
        }
    }

    public LlamaConfig withTorchDtype(String dtype) {
        return new LlamaConfig(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize,
                maxPositionEmbeddings, rmsNormEps, ropeTheta, tieWordEmbeddings, bosTokenId, eosTokenId, dtype);
    }

    private static int required(JsonNode n, String field) {
        if (!n.hasNonNull(field) || !n.get(field).canConvertToInt()) {
            throw new GblmException("config.json lacks integer field '" + field + "'");
        }
        return n.get(field).asInt();
    }

    private static int firstInt(JsonNode v, int dflt) {
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (v.isArray()) {
            return v.size() == 0 ? dflt : v.get(0).asInt(dflt);
        }
        return v.asInt(dflt);
    }
}
