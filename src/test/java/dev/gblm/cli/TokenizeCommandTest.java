package dev.gblm.cli;

import static dev.gblm.testing.GblmCli.gblm;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.testing.GblmCli.Run;
import dev.gblm.testing.TestData;
import dev.gblm.tokenizer.TinyTokenizerJson;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gblm tokenize} through {@link Main#run(PrintWriter, PrintWriter, String...)}. */
class TokenizeCommandTest {

    @TempDir
    Path dir;

    @Test
    void printsLlamaIdsOnOneLine() {
        Path model = TestData.require("tokenizers/llama2_tokenizer.model");
        // Expected ids: the "Hello, world!" case of llama.cpp's ggml-vocab-llama-spm test.
        Run r = gblm("tokenize", "--tokenizer", model.toString(), "--text", "Hello, world!");
        assertThat(r.err()).isEmpty();
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo("15043 29892 3186 29991" + System.lineSeparator());
    }

    @Test
    void bosIsPrependedOnRequestAndFilesAreRead() throws IOException {
        Path model = TestData.require("tokenizers/llama2_tokenizer.model");
        Path text = dir.resolve("t.txt");
        Files.writeString(text, " Hello World!");
        Run r = gblm("tokenize", "--tokenizer", model.toString(), "--file", text.toString(), "--bos");
        assertThat(r.exit()).isZero();
        assertThat(r.out().strip()).isEqualTo("1 29871 15043 2787 29991");
    }

    @Test
    void modelDirectoryIsSearchedForATokenizer() throws IOException {
        Path model = TestData.require("tokenizers/llama2_tokenizer.model");
        Files.copy(model, dir.resolve("tokenizer.model"));
        Run r = gblm("tokenize", "--tokenizer", dir.toString(), "--text", "Hello world");
        assertThat(r.exit()).isZero();
        assertThat(r.out().strip()).isEqualTo("15043 3186");
    }

    @Test
    void huggingFaceTokenizerJsonWorksToo() throws IOException {
        Path json = TinyTokenizerJson.write(dir);
        Run r = gblm("tokenize", "--tokenizer", json.toString(), "--text", "hello world", "--bos");
        assertThat(r.exit()).isZero();
        assertThat(r.out().strip()).isEqualTo("0 32 35 13 5");
    }

    @Test
    void missingTextFileIsOneLineOnStderr() {
        Path model = TestData.require("tokenizers/llama2_tokenizer.model");
        Run r = gblm("tokenize", "--tokenizer", model.toString(), "--file", dir.resolve("nope.txt").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().lines()).containsExactly("gblm: text file not found: " + dir.resolve("nope.txt"));
    }

    @Test
    void missingTokenizerIsOneLineOnStderr() {
        Run r = gblm("tokenize", "--tokenizer", dir.resolve("tokenizer.model").toString(), "--text", "x");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).singleElement().asString()
                .startsWith("gblm: tokenizer file not found:");
    }

    @Test
    void unknownTokenizerFormatIsOneLineOnStderr() throws IOException {
        Path weird = dir.resolve("vocab.txt");
        Files.writeString(weird, "hello 1\nworld 2\n");
        Run r = gblm("tokenize", "--tokenizer", weird.toString(), "--text", "x");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).singleElement().asString().startsWith("gblm: unknown tokenizer format:");
    }

    @Test
    void corruptProtobufIsOneLineOnStderr() throws IOException {
        byte[] good = Files.readAllBytes(TestData.require("tokenizers/llama2_tokenizer.model"));
        Path truncated = dir.resolve("tokenizer.model");
        Files.write(truncated, java.util.Arrays.copyOf(good, good.length / 2));
        Run r = gblm("tokenize", "--tokenizer", truncated.toString(), "--text", "x");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).singleElement().asString()
                .startsWith("gblm: not a valid SentencePiece model").contains("truncated");
    }

    @Test
    void llama2cTokenizerIsNamedButNotHandledHere() throws IOException {
        Path bin = dir.resolve("tok512.bin");
        Files.write(bin, new byte[] {1, 2, 3, 4});
        Run r = gblm("tokenize", "--tokenizer", bin.toString(), "--text", "x");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("llama2.c tokenizer.bin");
    }

    @Test
    void textAndFileAreMutuallyExclusiveAndOneIsRequired() {
        Run none = gblm("tokenize", "--tokenizer", "x.model");
        assertThat(none.exit()).isEqualTo(2);
        assertThat(none.err()).contains("--text").contains("--file");
        Run both = gblm("tokenize", "--tokenizer", "x.model", "--text", "a", "--file", "b");
        assertThat(both.exit()).isEqualTo(2);
        assertThat(both.err()).contains("mutually exclusive");
    }

    @Test
    void helpDescribesTheCommand() {
        Run r = gblm("tokenize", "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("--tokenizer").contains("--text").contains("--file").contains("--bos");
    }
}
