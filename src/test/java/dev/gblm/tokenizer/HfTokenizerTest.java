package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link HfTokenizer} on a tiny byte-level BPE {@code tokenizer.json} written by the test (no real
 * one exists on this machine and none may be downloaded). Expected ids are derived by hand from the
 * merge ranks below.
 */
class HfTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    // ids: <s>=0, </s>=1, a..z = 2..27, Ġ=28, then merge results 29..35
    private static final int HELLO = 32;
    private static final int G_WOR = 35;
    private static final int L = 2 + ('l' - 'a');
    private static final int D = 2 + ('d' - 'a');

    @TempDir
    Path dir;

    /**
     * "hello" merges h+e, l+l, he+ll, hell+o → "hello"; " world" is "Ġworld" after the byte-level
     * pre-tokenizer and merges Ġ+w, o+r, Ġw+or → "Ġwor" "l" "d" (no merge for "Ġworl").
     */
    @Test
    void encodesWithTheModelsMergesAndAddsNoSpecialTokens() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(writeTokenizer(dir))) {
            assertThat(tok.encode("hello world")).containsExactly(HELLO, G_WOR, L, D);
            assertThat(tok.encode("")).isEmpty();
        }
    }

    @Test
    void decodeSkipsSpecialTokens() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(writeTokenizer(dir))) {
            assertThat(tok.decode(new int[] {0, HELLO, G_WOR, L, D, 1})).isEqualTo("hello world");
            assertThat(tok.decode(tok.encode("hello hello world"))).isEqualTo("hello hello world");
        }
    }

    @Test
    void longTextIsNotTruncated() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(writeTokenizer(dir))) {
            // Far beyond DJL's default max length of 512. After the first, each " hello world"
            // is Ġ hello Ġwor l d (no merge makes "Ġh"): 4 + 599 * 5 ids.
            String text = "hello world ".repeat(600).strip();
            int[] ids = tok.encode(text);
            assertThat(ids.length).isEqualTo(4 + 599 * 5);
            assertThat(ids[ids.length - 1]).isEqualTo(D);
        }
    }

    @Test
    void specialIdsFallBackToConventionalNames() throws IOException {
        try (HfTokenizer tok = HfTokenizer.load(writeTokenizer(dir))) {
            assertThat(tok.bosId()).isEqualTo(0);
            assertThat(tok.eosId()).isEqualTo(1);
            assertThat(tok.vocabSize()).isEqualTo(36);
        }
    }

    @Test
    void tokenizerConfigNamesTheSpecialTokens() throws IOException {
        Path file = writeTokenizer(dir);
        // Deliberately swapped, so the test can only pass if the config is read.
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"</s>\", \"special\": true}, \"eos_token\": \"<s>\"}");
        try (HfTokenizer tok = HfTokenizer.load(file)) {
            assertThat(tok.bosId()).isEqualTo(1);
            assertThat(tok.eosId()).isEqualTo(0);
        }
    }

    @Test
    void configJsonIdsApplyWhenTheTokenizerConfigIsAbsent() throws IOException {
        Path file = writeTokenizer(dir);
        Files.writeString(dir.resolve("config.json"), "{\"bos_token_id\": 1, \"eos_token_id\": [0, 1]}");
        try (HfTokenizer tok = HfTokenizer.load(file)) {
            assertThat(tok.bosId()).isEqualTo(1);
            assertThat(tok.eosId()).isEqualTo(0);
        }
    }

    @Test
    void malformedJsonIsAUserError() throws IOException {
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, "{\"model\": ");
        assertThatThrownBy(() -> HfTokenizer.load(file))
                .isInstanceOf(GblmException.class)
                .hasMessageContaining("not a valid tokenizer.json");
    }

    /** Writes a minimal byte-level BPE tokenizer.json (the layout LLaMA-3 uses) into {@code dir}. */
    static Path writeTokenizer(Path dir) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        addSpecial(added, 0, "<s>");
        addSpecial(added, 1, "</s>");
        root.putNull("normalizer");
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "ByteLevel");
        pre.put("add_prefix_space", false);
        pre.put("trim_offsets", true);
        pre.put("use_regex", true);
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(0);
        bos.putArray("tokens").add("<s>");
        ObjectNode decoder = root.putObject("decoder");
        decoder.put("type", "ByteLevel");
        decoder.put("add_prefix_space", true);
        decoder.put("trim_offsets", true);
        decoder.put("use_regex", true);

        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.putNull("unk_token");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", false);
        model.put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        vocab.put("<s>", 0);
        vocab.put("</s>", 1);
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.put(String.valueOf(c), 2 + (c - 'a'));
        }
        vocab.put("\u0120", 28); // Ġ, the byte-level image of a space
        String[] merged = {"he", "ll", "hell", "hello", "\u0120w", "or", "\u0120wor"};
        for (int i = 0; i < merged.length; i++) {
            vocab.put(merged[i], 29 + i);
        }
        ArrayNode merges = model.putArray("merges");
        for (String m : new String[] {"h e", "l l", "he ll", "hell o", "\u0120 w", "o r", "\u0120w or"}) {
            merges.add(m);
        }
        Path file = dir.resolve("tokenizer.json");
        JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), root);
        return file;
    }

    private static void addSpecial(ArrayNode added, int id, String content) {
        ObjectNode t = added.addObject();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", true);
    }
}
