package dev.gblm.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A Hugging Face {@code tokenizer.json} (LLaMA-3, Mistral, ...) run by DJL's binding of the Rust
 * {@code tokenizers} library. Encoding adds no special tokens (callers add BOS); decoding skips them.
 *
 * <p>BOS/EOS ids are resolved, first match wins, from {@code tokenizer_config.json} next to the
 * file ({@code bos_token}/{@code eos_token}), {@code config.json} ({@code bos_token_id}/
 * {@code eos_token_id}; the first of a list), then the conventional special-token names in the
 * vocabulary; -1 where none applies.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> BOS_NAMES = List.of("<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>");
    private static final List<String> EOS_NAMES = List.of("</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", "<|im_end|>");

    private final HuggingFaceTokenizer djl;
    private final int bosId;
    private final int eosId;
    private final int vocabSize;

    private HfTokenizer(HuggingFaceTokenizer djl, int bosId, int eosId, int vocabSize) {
        this.djl = djl;
        this.bosId = bosId;
        this.eosId = eosId;
        this.vocabSize = vocabSize;
    }

    /** Loads a {@code tokenizer.json}; a missing or malformed file raises a {@link GblmException}. */
    public static HfTokenizer load(Path tokenizerJson) {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new GblmException("tokenizer file not found: " + tokenizerJson);
        }
        Map<String, Integer> vocab = readVocabulary(tokenizerJson);
        int vocabSize = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        Path dir = tokenizerJson.toAbsolutePath().getParent();
        int bos = resolveSpecial(dir, vocab, "bos_token", "bos_token_id", BOS_NAMES);
        int eos = resolveSpecial(dir, vocab, "eos_token", "eos_token_id", EOS_NAMES);

        // DJL must never try to download anything (its natives are inside its jar).
        System.setProperty("ai.djl.offline", "true");
        Map<String, String> options = Map.of(
                "addSpecialTokens", "false",
                "truncation", "false",
                "padding", "false");
        try {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, options), bos, eos, vocabSize);
        } catch (IOException | RuntimeException e) {
            throw new GblmException("cannot load Hugging Face tokenizer " + tokenizerJson + ": " + e.getMessage(), e);
        }
    }

    @Override
    public int[] encode(String text) {
        long[] ids = djl.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new GblmException("token id " + ids[i] + " is outside the vocabulary of " + vocabSize);
            }
            wide[i] = ids[i];
        }
        return djl.decode(wide, true);
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public void close() {
        djl.close();
    }

    /** Token → id over the model's vocabulary and the added tokens. */
    static Map<String, Integer> readVocabulary(Path tokenizerJson) {
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new GblmException("not a valid tokenizer.json (" + tokenizerJson + "): " + firstLine(e.getMessage()), e);
        }
        if (root == null || !root.path("model").isObject()) {
            throw new GblmException("not a valid tokenizer.json (" + tokenizerJson + "): no \"model\" object");
        }
        Map<String, Integer> vocab = new HashMap<>();
        JsonNode modelVocab = root.path("model").path("vocab");
        if (modelVocab.isObject()) { // BPE, WordLevel, WordPiece: {"token": id}
            modelVocab.fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        } else if (modelVocab.isArray()) { // Unigram: [["token", score], ...], id = index
            for (int i = 0; i < modelVocab.size(); i++) {
                vocab.put(modelVocab.get(i).path(0).asText(), i);
            }
        }
        for (JsonNode added : root.path("added_tokens")) {
            vocab.put(added.path("content").asText(), added.path("id").asInt());
        }
        if (vocab.isEmpty()) {
            throw new GblmException("not a valid tokenizer.json (" + tokenizerJson + "): empty vocabulary");
        }
        return vocab;
    }

    private static int resolveSpecial(Path dir, Map<String, Integer> vocab, String tokenKey, String idKey, List<String> names) {
        Optional<JsonNode> tokenizerConfig = readJsonIfPresent(dir.resolve("tokenizer_config.json"));
        if (tokenizerConfig.isPresent()) {
            JsonNode token = tokenizerConfig.get().path(tokenKey);
            String content = token.isTextual() ? token.asText() : token.path("content").asText(null);
            if (content != null && vocab.containsKey(content)) {
                return vocab.get(content);
            }
        }
        Optional<JsonNode> config = readJsonIfPresent(dir.resolve("config.json"));
        if (config.isPresent()) {
            OptionalInt id = firstInt(config.get().path(idKey));
            if (id.isPresent()) {
                return id.getAsInt();
            }
        }
        for (String name : names) {
            Integer id = vocab.get(name);
            if (id != null) {
                return id;
            }
        }
        return -1;
    }

    private static OptionalInt firstInt(JsonNode node) {
        if (node.isInt()) {
            return OptionalInt.of(node.asInt());
        }
        if (node.isArray() && node.size() > 0 && node.get(0).isInt()) {
            return OptionalInt.of(node.get(0).asInt());
        }
        return OptionalInt.empty();
    }

    private static Optional<JsonNode> readJsonIfPresent(Path file) {
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readTree(file.toFile()));
        } catch (IOException e) {
            throw new GblmException("cannot parse " + file + ": " + firstLine(e.getMessage()), e);
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
