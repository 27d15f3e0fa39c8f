package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    static Path writeTokenizer(Path dir) throws IOException {
        return TinyTokenizerJson.write(dir);
    }
}
