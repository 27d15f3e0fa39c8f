package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerDetectorTest {

    @TempDir
    Path dir;

    @Test
    void findsTokenizerJsonInAModelDirectory() throws IOException {
        TinyTokenizerJson.write(dir);
        Files.writeString(dir.resolve("config.json"), "{}");
        assertThat(TokenizerDetector.detect(dir)).get().isInstanceOf(HfTokenizer.class);
        // a file inside the directory works as well as the directory
        assertThat(TokenizerDetector.detect(dir.resolve("config.json"))).get().isInstanceOf(HfTokenizer.class);
    }

    @Test
    void prefersTokenizerModelWhenBothArePresent() throws IOException {
        Files.copy(TestData.require("tokenizers/llama2_tokenizer.model"), dir.resolve("tokenizer.model"));
        TinyTokenizerJson.write(dir);
        assertThat(TokenizerDetector.detect(dir)).get().isInstanceOf(SentencePieceTokenizer.class);
    }

    @Test
    void emptyDirectoryHasNoTokenizer() {
        assertThat(TokenizerDetector.detect(dir)).isEmpty();
        assertThatThrownBy(() -> TokenizerDetector.open(dir)).isInstanceOf(GblmException.class)
                .hasMessageContaining("no tokenizer (tokenizer.model, tokenizer.json, tokenizer.bin, tok512.bin)");
    }

    @Test
    void formatIsSniffedFromContentWhenTheExtensionSaysNothing() throws IOException {
        Path json = dir.resolve("tok");
        Files.writeString(json, "\n  {\"model\": {}}");
        assertThat(TokenizerDetector.formatOf(json)).isEqualTo(TokenizerDetector.Format.HUGGING_FACE);
        Path spm = dir.resolve("spm");
        Files.copy(TestData.require("tokenizers/llama2_tokenizer.model"), spm);
        assertThat(TokenizerDetector.formatOf(spm)).isEqualTo(TokenizerDetector.Format.SENTENCEPIECE);
        assertThat(TokenizerDetector.open(spm).vocabSize()).isEqualTo(32000);
        Path bin = dir.resolve("tokenizer.bin");
        Files.write(bin, new byte[] {0x0A});
        assertThat(TokenizerDetector.formatOf(bin)).isEqualTo(TokenizerDetector.Format.LLAMA2C);
    }

    @Test
    void unknownContentIsAClearError() throws IOException {
        Path f = dir.resolve("vocab.txt");
        Files.writeString(f, "a 1\n");
        assertThatThrownBy(() -> TokenizerDetector.open(f)).isInstanceOf(GblmException.class)
                .hasMessageStartingWith("unknown tokenizer format");
    }

    @Test
    void llama2cTokenizerNextToTheModelIsFound() throws IOException {
        Files.copy(TestData.require("models/tok512.bin"), dir.resolve("tok512.bin"));
        Tokenizer tok = TokenizerDetector.detect(dir).orElseThrow();
        assertThat(tok).isInstanceOf(Llama2cTokenizer.class);
        assertThat(tok.vocabSize()).isEqualTo(512);
        assertThat(TokenizerDetector.open(dir.resolve("tok512.bin"))).isInstanceOf(Llama2cTokenizer.class);
    }
}
