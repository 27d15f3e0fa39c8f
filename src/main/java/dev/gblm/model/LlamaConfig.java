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
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The LLaMA-family hyper-parameters the engine needs, read from and written to Hugging Face
 * {@code config.json}. Anything the engine cannot honour (rope scaling types other than linear, dynamic and llama3,
 * biases, other activations) is rejected with a {@link GblmException} rather than ignored.
 *
 * @param headDim per-head size; Hugging Face's explicit {@code head_dim}, else hidden / heads. Queries and the
 *     attention output are {@code numHeads * headDim} wide, which may differ from {@code hiddenSize}
 * @param ropeScaling null for plain rotary frequencies
 * @param eosTokenIds every end-of-sequence id when {@code config.json} gave a list (written back as a list, its
 *     first element is {@code eosTokenId}); null when it gave one number
 * @param slidingWindow Mistral's attention window, null when absent. Sliding-window attention is not implemented:
 *     the config is accepted and sequences longer than the window are refused ({@link #maxSequenceLength()})
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
        String torchDtype,
        int headDim,
        RopeScaling ropeScaling,
        List<Integer> eosTokenIds,
        Integer slidingWindow) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Set<String> MODEL_TYPES = Set.of("llama", "mistral");

    public LlamaConfig {
        if (hiddenSize <= 0 || intermediateSize <= 0 || numLayers <= 0 || numHeads <= 0 || numKvHeads <= 0
                || vocabSize <= 0 || maxPositionEmbeddings <= 0 || headDim <= 0) {
            throw new GblmException("invalid model config: sizes must be positive");
        }
        if (numHeads % numKvHeads != 0) {
            throw new GblmException("invalid model config: num_attention_heads " + numHeads
                    + " not divisible by num_key_value_heads " + numKvHeads);
        }
        if (headDim % 2 != 0) {
            throw new GblmException("invalid model config: head size " + headDim + " is odd");
        }
        if (eosTokenIds != null) {
            eosTokenIds = List.copyOf(eosTokenIds);
            if (eosTokenIds.isEmpty() || eosTokenIds.get(0) != eosTokenId) {
                throw new GblmException("invalid model config: eos_token_id list " + eosTokenIds
                        + " must start with eos id " + eosTokenId);
            }
        }
        if (slidingWindow != null && slidingWindow <= 0) {
            throw new GblmException("invalid model config: sliding_window " + slidingWindow + " must be positive");
        }
    }

    /** A plain LLaMA: head size hidden / heads, no rope scaling, one eos id, no sliding window. */
    public LlamaConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int numKvHeads,
            int vocabSize, int maxPositionEmbeddings, double rmsNormEps, double ropeTheta, boolean tieWordEmbeddings,
            int bosTokenId, int eosTokenId, String torchDtype) {
        this(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize, maxPositionEmbeddings,
                rmsNormEps, ropeTheta, tieWordEmbeddings, bosTokenId, eosTokenId, torchDtype,
                defaultHeadDim(hiddenSize, numHeads), null, null, null);
    }

    private static int defaultHeadDim(int hidden, int heads) {
        if (heads > 0 && hidden % heads != 0) {
            throw new GblmException("invalid model config: hidden_size " + hidden
                    + " not divisible by num_attention_heads " + heads + " (and no head_dim given)");
        }
        return heads > 0 ? hidden / heads : 0;
    }

    /** Width of the queries and of the attention output: heads * head size. */
    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Every end-of-sequence id (one unless the config gave a list). */
    public List<Integer> eosTokens() {
        return eosTokenIds != null ? eosTokenIds : List.of(eosTokenId);
    }

    /** The longest sequence the engine runs: the context, or the sliding window when shorter. */
    public int maxSequenceLength() {
        return slidingWindow == null ? maxPositionEmbeddings : Math.min(maxPositionEmbeddings, slidingWindow);
    }

    /**
     * Rotary inverse frequencies, one per pair of a head: {@code 1 / theta^(2i/d)} (computed in double, rounded to
     * float32 as the engine uses them), then the {@link RopeScaling} rule if any.
     */
    public float[] ropeInverseFrequencies() {
        int half = headDim / 2;
        double[] f = new double[half];
        for (int i = 0; i < half; i++) {
            f[i] = 1.0 / Math.pow(ropeTheta, (2.0 * i) / headDim);
        }
        if (ropeScaling != null) {
            ropeScaling.apply(f);
        }
        float[] out = new float[half];
        for (int i = 0; i < half; i++) {
            out[i] = (float) f[i];
        }
        return out;
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
        // transformers 5 moved rope_theta and the scaling into rope_parameters
        JsonNode ropeNode = n.hasNonNull("rope_parameters") ? n.get("rope_parameters") : n.get("rope_scaling");
        RopeScaling scaling = RopeScaling.fromJson(ropeNode);
        double theta = n.hasNonNull("rope_theta") ? n.get("rope_theta").asDouble()
                : n.path("rope_parameters").path("rope_theta").asDouble(10000.0);
        if (n.path("attention_bias").asBoolean(false) || n.path("mlp_bias").asBoolean(false)) {
            throw new GblmException("unsupported config: attention_bias/mlp_bias true (LLaMA has no biases)");
        }
        String act = n.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new GblmException("unsupported config: hidden_act '" + act + "' (only silu)");
        }
        int hidden = required(n, "hidden_size");
        int heads = required(n, "num_attention_heads");
        int headDim = n.hasNonNull("head_dim") ? required(n, "head_dim") : defaultHeadDim(hidden, heads);
        Integer window = n.hasNonNull("sliding_window") ? required(n, "sliding_window") : null;
        String dtype = n.hasNonNull("torch_dtype") ? n.get("torch_dtype").asText()
                : n.hasNonNull("dtype") ? n.get("dtype").asText() : "float32";
        JsonNode eos = n.get("eos_token_id");
        List<Integer> eosList = null;
        if (eos != null && eos.isArray() && eos.size() > 0) {
            eosList = new ArrayList<>();
            for (JsonNode e : eos) {
                if (!e.canConvertToInt()) {
                    throw new GblmException("invalid model config: eos_token_id " + eos + " is not a list of ids");
                }
                eosList.add(e.asInt());
            }
        }
        return new LlamaConfig(
                hidden,
                required(n, "intermediate_size"),
                required(n, "num_hidden_layers"),
                heads,
                n.path("num_key_value_heads").asInt(heads),
                required(n, "vocab_size"),
                n.path("max_position_embeddings").asInt(2048),
                n.path("rms_norm_eps").asDouble(1e-6),
                theta,
                n.path("tie_word_embeddings").asBoolean(false),
                firstInt(n.get("bos_token_id"), 1),
                firstInt(eos, 2),
                dtype,
                headDim,
                scaling,
                eosList,
                window);
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
        n.put("head_dim", headDim);
        n.put("vocab_size", vocabSize);
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_theta", ropeTheta);
        if (ropeScaling == null) {
            n.putNull("rope_scaling");
        } else {
            n.set("rope_scaling", ropeScaling.toJson());
        }
        n.put("tie_word_embeddings", tieWordEmbeddings);
        n.put("bos_token_id", bosTokenId);
        if (eosTokenIds == null) {
            n.put("eos_token_id", eosTokenId);
        } else {
            eosTokenIds.forEach(n.putArray("eos_token_id")::add);
        }
        if (slidingWindow != null) {
            n.put("sliding_window", slidingWindow);
        }
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
                maxPositionEmbeddings, rmsNormEps, ropeTheta, tieWordEmbeddings, bosTokenId, eosTokenId, dtype, headDim,
                ropeScaling, eosTokenIds, slidingWindow);
    }

    /** The same config with an explicit head size (queries {@code numHeads * headDim} wide). */
    public LlamaConfig withHeadDim(int newHeadDim) {
        return new LlamaConfig(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize,
                maxPositionEmbeddings, rmsNormEps, ropeTheta, tieWordEmbeddings, bosTokenId, eosTokenId, torchDtype,
                newHeadDim, ropeScaling, eosTokenIds, slidingWindow);
    }

    /** The same config with another rope scaling (null: none). */
    public LlamaConfig withRopeScaling(RopeScaling scaling) {
        return new LlamaConfig(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize,
                maxPositionEmbeddings, rmsNormEps, ropeTheta, tieWordEmbeddings, bosTokenId, eosTokenId, torchDtype,
                headDim, scaling, eosTokenIds, slidingWindow);
    }

    /** The same config with every end-of-sequence id given as a list (the first becomes {@code eosTokenId}). */
    public LlamaConfig withEosTokenIds(List<Integer> ids) {
        return new LlamaConfig(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize,
                maxPositionEmbeddings, rmsNormEps, ropeTheta, tieWordEmbeddings, bosTokenId, ids.get(0), torchDtype,
                headDim, ropeScaling, ids, slidingWindow);
    }

    /** The same config with a Mistral sliding window (null: none). */
    public LlamaConfig withSlidingWindow(Integer window) {
        return new LlamaConfig(hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, vocabSize,
                maxPositionEmbeddings, rmsNormEps, ropeTheta, tieWordEmbeddings, bosTokenId, eosTokenId, torchDtype,
                headDim, ropeScaling, eosTokenIds, window);
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
