package dev.gblm.cli;

import static dev.gblm.testing.GblmCli.gblm;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.engine.SpillSettings;
import dev.gblm.testing.GblmCli.Run;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gblm prune} through {@link Main#run(PrintWriter, PrintWriter, String...)} on the bundled stories260K. */
class PruneCommandTest {
    static final Path MODEL = Path.of("models/stories260K/stories260K.bin");

    @TempDir
    Path dir;

    Path calib;
    Path out;

    @BeforeEach
    void files() throws IOException {
        calib = Files.writeString(dir.resolve("calib.txt"),
                "Once upon a time there was a cat.\n\nThe dog ran to the park and played.\n\n"
                        + "Lily liked to sing.\n\nTom had a red ball.\n");
        out = dir.resolve("out");
    }

    List<String> args(String... extra) {
        List<String> a = new ArrayList<>(List.of("prune", "--model", MODEL.toString(), "--calibration", calib.toString(),
                "--out", out.toString()));
        a.addAll(List.of(extra));
        return a;
    }

    Run prune(String... extra) {
        return gblm(args(extra).toArray(String[]::new));
    }

    /** One clear line on stderr, exit 2, and nothing written. */
    void assertRejected(Run r, String message) {
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines().filter(l -> !l.isBlank())).singleElement().asString()
                .startsWith("gblm: ").contains(message);
        assertThat(r.out()).isEmpty();
        assertThat(out).doesNotExist();
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).allMatch(n -> !n.startsWith(".out"));
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    @Test
    void unknownMethodIsRejected() {
        assertRejected(prune("--method", "lottery", "--sparsity", "0.5"), "unknown pruning method 'lottery'");
    }

    @Test
    void sparsityOutsideTheOpenUnitIntervalIsRejected() {
        assertRejected(prune("--method", "wanda", "--sparsity", "1.0"), "--sparsity must be in (0, 1)");
        assertRejected(prune("--method", "wanda", "--sparsity", "0"), "--sparsity must be in (0, 1)");
        assertRejected(prune("--method", "wanda", "--sparsity", "-0.2"), "--sparsity must be in (0, 1)");
    }

    @Test
    void nmPatternWithAnotherSparsityIsRejected() {
        assertRejected(prune("--method", "wanda", "--sparsity", "0.6", "--pattern", "2:4"), "pattern 2:4 means sparsity 0.5");
    }

    @Test
    void calibrationWithoutUsableDocumentIsRejected() throws IOException {
        Files.writeString(calib, "{\"text\": \"\"}\n{\"text\": \"\"}\n");
        assertRejected(prune("--method", "wanda", "--sparsity", "0.5"), "has no usable document (2 read, 2 under two tokens)");
        Files.writeString(calib, "\n\n   \n\n");
        assertRejected(prune("--method", "wanda", "--sparsity", "0.5"), "has no usable document");
    }

    @Test
    void outputPathThatIsAFileIsRejected() throws IOException {
        Files.writeString(out, "not a directory");
        Run r = prune("--method", "magnitude", "--sparsity", "0.5", "--force");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).singleElement().asString().contains("is a file");
        assertThat(Files.readString(out)).isEqualTo("not a directory");
    }

    @Test
    void existingOutputNeedsForce() throws IOException {
        Files.createDirectory(out);
        Run r = prune("--method", "magnitude", "--sparsity", "0.5");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().lines()).singleElement().asString().contains("already exists").contains("--force");
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void malformedJsonLinesAreRejected() throws IOException {
        Path jsonl = Files.writeString(dir.resolve("c.jsonl"), "{\"text\": \"a cat\"}\nnot json\n");
        List<String> a = args("--method", "wanda", "--sparsity", "0.5");
        a.set(a.indexOf(calib.toString()), jsonl.toString());
        assertRejected(gblm(a.toArray(String[]::new)), "line 2 is not valid JSON");
    }

    @Test
    void prunesWritesAReportAndTheOutputEvaluates() throws IOException {
        Path jsonl = Files.writeString(dir.resolve("c.jsonl"),
                "{\"text\": \"Once upon a time there was a cat.\"}\n{\"text\": \"\"}\n{\"text\": \"The dog ran.\"}\n"
                        + "{\"text\": \"Lily liked to sing.\"}\n");
        List<String> a = args("--method", "gblm", "--sparsity", "0.5", "--mode", "one-shot", "--samples", "2",
                "--seq-len", "16", "--json");
        a.set(a.indexOf(calib.toString()), jsonl.toString());
        Run r = gblm(a.toArray(String[]::new));
        assertThat(r.err()).contains("calibration: 2 samples").contains("layer 5/5 pruned");
        assertThat(r.exit()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.out());
        assertThat(report.get("method").asText()).isEqualTo("gblm");
        assertThat(report.get("mode").asText()).isEqualTo("one-shot");
        assertThat(report.get("options").get("gradNorm").asText()).isEqualTo("l1");
        assertThat(report.get("options").get("statsPass").asText()).isEqualTo("layer");
        assertThat(report.get("calibration").get("samplesUsed").asInt()).isEqualTo(2);
        assertThat(report.get("calibration").get("skippedDocuments").asInt()).isEqualTo(1);
        assertThat(report.get("calibration").get("documentsRead").asInt()).isEqualTo(3);
        assertThat(report.get("sparsity").get("overall").asDouble()).isEqualTo(0.5);
        assertThat(report.get("timings").get("gradientsSeconds").asDouble()).isPositive();
        assertThat(out.resolve("masks.bin")).exists();
        assertThat(out.resolve("tok512.bin")).exists();

        Run gen = gblm("generate", "--model", out.toString(), "--tokens", "5");
        assertThat(gen.exit()).as(gen.err()).isZero();
        Run ev = gblm("eval", "--model", out.toString(), "--text", calib.toString(), "--json");
        assertThat(ev.exit()).as(ev.err()).isZero();
    }

    @Test
    void unknownStatsPassIsRejected() {
        assertRejected(prune("--method", "gblm", "--sparsity", "0.5", "--stats-pass", "rows"),
                "unknown statistics pass 'rows' (expected one of layer, model)");
    }

    /** The layer-major statistics pass (default) and the whole-model one prune the same weights. */
    @Test
    void bothStatisticsPassesWriteTheSameMasks() throws IOException {
        for (String pass : List.of("layer", "model")) {
            Run r = prune("--method", "gblm", "--sparsity", "0.5", "--mode", "one-shot", "--samples", "3",
                    "--seq-len", "24", "--stats-pass", pass, "--json");
            assertThat(r.exit()).as(r.err()).isZero();
            Files.move(out.resolve("masks.bin"), dir.resolve(pass + ".masks.bin"));
            Files.move(out.resolve("model.safetensors"), dir.resolve(pass + ".safetensors"));
            deleteTree(out);
        }
        assertThat(Files.readAllBytes(dir.resolve("layer.masks.bin")))
                .isEqualTo(Files.readAllBytes(dir.resolve("model.masks.bin")));
        assertThat(Files.readAllBytes(dir.resolve("layer.safetensors")))
                .isEqualTo(Files.readAllBytes(dir.resolve("model.safetensors")));
    }

    /**
     * Sequential gblm with every spill threshold at 0 (system properties) writes its temporary files under
     * {@code --spill-dir} (created, then left empty) and the same masks as the whole-model pass, which never spills.
     */
    @Test
    void sequentialSpillingToSpillDirWritesTheSameMasks() throws IOException {
        Path spill = dir.resolve("spill");
        for (String pass : List.of("layer", "model")) {
            System.setProperty(SpillSettings.GRADIENT_BYTES_PROPERTY, "0");
            System.setProperty(SpillSettings.BOUNDARY_BYTES_PROPERTY, "0");
            Run r;
            try {
                r = prune("--method", "gblm", "--sparsity", "0.5", "--samples", "3", "--seq-len", "24",
                        "--stats-pass", pass, "--spill-dir", spill.toString(), "--json");
            } finally {
                System.clearProperty(SpillSettings.GRADIENT_BYTES_PROPERTY);
                System.clearProperty(SpillSettings.BOUNDARY_BYTES_PROPERTY);
            }
            assertThat(r.exit()).as(r.err()).isZero();
            Files.move(out.resolve("masks.bin"), dir.resolve(pass + ".masks.bin"));
            deleteTree(out);
        }
        assertThat(spill).isEmptyDirectory();
        assertThat(Files.readAllBytes(dir.resolve("layer.masks.bin")))
                .isEqualTo(Files.readAllBytes(dir.resolve("model.masks.bin")));
    }

    @Test
    void spillDirThatIsAFileIsRejected() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertRejected(prune("--method", "gblm", "--sparsity", "0.5", "--spill-dir", file.toString()),
                "--spill-dir " + file + " is not a directory");
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void magnitudeNeedsNoCalibrationAndDefaultsToSequential() throws IOException {
        Run r = gblm("prune", "--model", MODEL.toString(), "--method", "magnitude", "--pattern", "2:4",
                "--out", out.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode report = new ObjectMapper().readTree(r.out());
        assertThat(report.get("mode").asText()).isEqualTo("sequential");
        assertThat(report.get("calibration").get("samplesUsed").asInt()).isZero();
        assertThat(report.get("sparsity").get("overall").asDouble()).isEqualTo(0.5);
    }
}
