package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.testing.GblmCli;
import dev.gblm.testing.GblmCli.Run;
import dev.gblm.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EngineCliTest {
    @TempDir
    Path dir;

    private static Run run(String... args) {
        return GblmCli.gblmWithSystemStreams(args);
    }

    /** The one error line; no stack trace (library log lines from DJL start-up are ignored). */
    private static String errorLine(Run r) {
        assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception");
        java.util.List<String> lines = r.err().lines().map(String::strip).filter(l -> l.startsWith("gblm:")).toList();
        assertThat(lines).hasSize(1);
        return lines.get(0);
    }

    private Path modelDir() throws Exception {
        Path m = dir.resolve("model");
        Files.createDirectories(m);
        Files.copy(TestData.require("models/stories260K.bin"), m.resolve("stories260K.bin"));
        Files.copy(TestData.require("models/tok512.bin"), m.resolve("tok512.bin"));
        return m;
    }

    @Test
    void evalJsonOnAFewChunks() throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "Once upon a time there was a cat.\n\nThe cat liked milk. It was happy.\n\n");
        Run r = run("eval", "--model", modelDir().toString(), "--text", text.toString(), "--protocol", "chunks",
                "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out().strip());
        assertThat(j.get("tokens").asInt()).isGreaterThan(10);
        assertThat(j.get("perplexity").asDouble()).isBetween(1.0, 100.0);
        assertThat(Math.exp(j.get("nll").asDouble())).isCloseTo(j.get("perplexity").asDouble(),
                org.assertj.core.api.Assertions.within(1e-9));
    }

    @Test
    void generateGreedyFromBos() throws Exception {
        Run r = run("generate", "--model", modelDir().toString(), "--tokens", "30");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("Once upon a time, there was a little girl named Lily.");
    }

    @Test
    void evalWithOneThreadGivesTheSameNumbers() throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "Once upon a time there was a cat.\n\nThe cat liked milk. It was happy.\n\n");
        String model = modelDir().toString();
        Run r = run("eval", "--model", model, "--text", text.toString(), "--json", "--threads", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        Run d = run("eval", "--model", model, "--text", text.toString(), "--json");
        double nll1 = new ObjectMapper().readTree(r.out().strip()).get("nll").asDouble();
        double nll = new ObjectMapper().readTree(d.out().strip()).get("nll").asDouble();
        assertThat(nll1).isCloseTo(nll, org.assertj.core.api.Assertions.within(1e-5));
    }

    @Test
    void threadsMustBePositive() throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "Once upon a time there was a cat.");
        Run r = run("eval", "--model", modelDir().toString(), "--text", text.toString(), "--threads", "0");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(errorLine(r)).isEqualTo("gblm: --threads must be at least 1, got 0");
    }

    @Test
    void missingModelFile() throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "hello world");
        Run r = run("eval", "--model", dir.resolve("nope.bin").toString(), "--text", text.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(errorLine(r)).startsWith("gblm: model not found");
    }

    @Test
    void missingTextFile() throws Exception {
        Run r = run("eval", "--model", modelDir().toString(), "--text", dir.resolve("none.txt").toString());
        assertThat(r.exit()).isNotZero();
        assertThat(errorLine(r)).isEqualTo("gblm: text file not found: " + dir.resolve("none.txt"));
    }

    @Test
    void wrongModelFormat() throws Exception {
        Path bogus = dir.resolve("bogus.bin");
        Files.writeString(bogus, "definitely not a model");
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "hello world");
        Run r = run("generate", "--model", bogus.toString(), "--tokenizer",
                TestData.require("models/tok512.bin").toString());
        assertThat(r.exit()).isNotZero();
        assertThat(errorLine(r)).startsWith("gblm: not a model");
    }

    @Test
    void textShorterThanTwoTokens() throws Exception {
        Path text = dir.resolve("empty.txt");
        Files.writeString(text, "\n\n   \n\n");
        Run r = run("eval", "--model", modelDir().toString(), "--text", text.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(errorLine(r)).startsWith("gblm: no evaluable text");
    }

    @Test
    void unknownProtocol() throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "hello world");
        Run r = run("eval", "--model", modelDir().toString(), "--text", text.toString(), "--protocol", "bogus");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("unknown --protocol");
    }
}
