package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.testing.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The LLaMA SentencePiece model against llama.cpp's expected ids (shared data; skipped when absent). */
class SentencePieceTokenizerTest {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    private static SentencePieceTokenizer llama;

    @BeforeAll
    static void load() {
        llama = SentencePieceTokenizer.load(TestData.require("tokenizers/llama2_tokenizer.model"));
    }

    /**
     * The .inp file ends with a trailing separator, so splitting gives 47 parts whose last is the
     * empty string; the .out file has one line per part (the last empty input ↔ the empty line
     * after the final newline). Each expected line is " id id ...", without BOS.
     */
    @Test
    void reproducesAllLlamaCppVocabCases() throws IOException {
        String inp = Files.readString(TestData.require("tokenizers/ggml-vocab-llama-spm.gguf.inp"), StandardCharsets.UTF_8);
        String out = Files.readString(TestData.require("tokenizers/ggml-vocab-llama-spm.gguf.out"), StandardCharsets.UTF_8);
        List<String> inputs = Arrays.asList(inp.split(SEPARATOR, -1));
        List<String> expected = Arrays.asList(out.split("\n", -1));
        assertThat(inputs).hasSize(47);
        assertThat(expected).hasSameSizeAs(inputs);

        List<String> failures = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String want = expected.get(i).strip();
            String got = Arrays.stream(llama.encode(inputs.get(i))).mapToObj(Integer::toString).collect(Collectors.joining(" "));
            if (!want.equals(got)) {
                failures.add("case " + i + " " + inputs.get(i) + "\n  want " + want + "\n  got  " + got);
            }
        }
        assertThat(failures).isEmpty();
    }

    @Test
    void vocabularyAndSpecialIdsComeFromTheModel() {
        assertThat(llama.vocabSize()).isEqualTo(32000);
        assertThat(llama.bosId()).isEqualTo(1);
        assertThat(llama.eosId()).isEqualTo(2);
        assertThat(llama.piece(1)).isEqualTo("<s>");
        assertThat(llama.piece(13)).isEqualTo("<0x0A>");
    }

    @Test
    void decodeDropsControlTokensTheDummyPrefixAndReassemblesBytes() {
        int[] ids = llama.encode("Hello, y'all! 🦙 Führer\n\tok");
        int[] withSpecials = new int[ids.length + 2];
        withSpecials[0] = llama.bosId();
        System.arraycopy(ids, 0, withSpecials, 1, ids.length);
        withSpecials[ids.length + 1] = llama.eosId();
        assertThat(llama.decode(withSpecials)).isEqualTo("Hello, y'all! 🦙 Führer\n\tok");
    }

    @Test
    void emptyTextEncodesToNothing() {
        assertThat(llama.encode("")).isEmpty();
        assertThat(llama.decode(new int[0])).isEmpty();
    }

    @Test
    void roundTripsWikiTextLines() throws IOException {
        List<String> lines = Files.readAllLines(TestData.require("corpora/wiki.test.raw"), StandardCharsets.UTF_8);
        int checked = 0;
        for (int i = 0; i < lines.size(); i += 7) {
            String line = lines.get(i);
            int[] ids = llama.encode(line);
            assertThat(llama.decode(ids)).as("line %d", i).isEqualTo(line);
            checked++;
        }
        assertThat(checked).isGreaterThan(600);
    }

    @Test
    void tokenizesAllOfWikiTextAndRoundTrips() throws IOException {
        String text = Files.readString(TestData.require("corpora/wiki.test.raw"), StandardCharsets.UTF_8);
        int[] ids = llama.encode(text);
        // WikiText-2 test is about 0.3M LLaMA tokens; a broken merge (e.g. none at all) gives ~1.3M.
        assertThat(ids.length).isBetween(250_000, 400_000);
        assertThat(llama.decode(ids)).isEqualTo(text);
    }
}
