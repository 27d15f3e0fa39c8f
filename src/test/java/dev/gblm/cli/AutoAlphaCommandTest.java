package dev.gblm.cli;

import static dev.gblm.testing.GblmCli.gblm;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.eval.EvalProtocols;
import dev.gblm.testing.GblmCli.Run;
import dev.gblm.testing.TestData;
import dev.gblm.testing.TinyStories;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gblm prune --alpha auto} on the real stories260K with TinyStories text from ../shared/data (skipped
 * without it): a tiny grid, few samples, short sequences. Calibration chunks 500.., held-out chunks 1000.., both
 * disjoint from the evaluation chunks 0..99 of the quality report.
 */
class AutoAlphaCommandTest {
    @TempDir
    Path dir;

    private Path chunks(String name, int from, int count) throws IOException {
        List<String> c = EvalProtocols.chunks(TinyStories.valHead()).subList(from, from + count);
        return Files.writeString(dir.resolve(name), String.join("\n\n", c) + "\n");
    }

    private static JsonNode report(Path out) throws IOException {
        return new ObjectMapper().readTree(Files.readString(out.resolve("report.json")));
    }

    /** The grid is recorded and the chosen alpha has the lowest recorded held-out perplexity. */
    private static double checkGrid(JsonNode report, List<String> expectedAlphas) {
        JsonNode auto = report.get("autoAlpha");
        List<String> alphas = new ArrayList<>();
        double min = Double.POSITIVE_INFINITY;
        for (JsonNode p : auto.get("grid")) {
            alphas.add(p.get("alpha").asText());
            assertThat(p.get("heldOutPerplexity").asDouble()).isGreaterThan(1);
            assertThat(p.get("sparsity").asDouble()).isBetween(0.5, 0.5005);
            min = Math.min(min, p.get("heldOutPerplexity").asDouble());
        }
        assertThat(alphas).containsExactlyElementsOf(expectedAlphas);
        String chosen = auto.get("chosen").asText();
        double chosenPpl = -1;
        for (JsonNode p : auto.get("grid")) {
            if (p.get("alpha").asText().equals(chosen)) {
                chosenPpl = p.get("heldOutPerplexity").asDouble();
            }
        }
        assertThat(chosenPpl).isEqualTo(min);
        assertThat(report.get("options").get("alpha").asText()).isEqualTo(chosen);
        assertThat(report.get("options").get("normalization").asText()).isEqualTo("sum");
        return min;
    }

    @Test
    void oneShotChoosesTheLowestHeldOutPerplexityFromOneCollection() throws IOException {
        Path model = TestData.require("models/stories260K.bin");
        Path calib = chunks("calib.txt", 500, 8);
        Path held = chunks("held.txt", 1000, 8);
        Path out = dir.resolve("out");
        Run r = gblm("prune", "--model", model.toString(), "--calibration", calib.toString(), "--samples", "8",
                "--seq-len", "128", "--method", "gblm", "--sparsity", "0.5", "--mode", "one-shot", "--alpha", "auto",
                "--alpha-grid", "inf,100,0", "--holdout", held.toString(), "--holdout-samples", "8", "--out",
                out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode rep = report(out);
        checkGrid(rep, List.of("0.0", "100.0", "inf"));
        assertThat(rep.get("autoAlpha").get("statistics").asText()).startsWith("collected once");
        assertThat(rep.get("autoAlpha").get("heldOut").get("source").asText()).isEqualTo(held.toString());
        assertThat(rep.get("autoAlpha").get("heldOut").get("sequences").asInt()).isEqualTo(8);
        assertThat(r.out()).contains("automatic alpha").contains("0 (activation only)").contains("inf (gradient only)");
    }

    @Test
    void sequentialReRunsEveryPointWithHeldOutTextAfterTheCalibration() throws IOException {
        Path model = TestData.require("models/stories260K.bin");
        Path calib = chunks("calib.txt", 500, 10); // 6 for statistics, the next 4 held out
        Path out = dir.resolve("out");
        Run r = gblm("prune", "--model", model.toString(), "--calibration", calib.toString(), "--samples", "6",
                "--seq-len", "64", "--method", "gblm", "--sparsity", "0.5", "--alpha", "auto", "--alpha-grid", "0,inf",
                "--out", out.toString(), "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode rep = report(out);
        checkGrid(rep, List.of("0.0", "inf"));
        assertThat(rep.get("autoAlpha").get("statistics").asText()).startsWith("collected again");
        assertThat(rep.get("autoAlpha").get("heldOut").get("sequences").asInt()).isEqualTo(4);
        assertThat(rep.get("calibration").get("samplesUsed").asInt()).isEqualTo(6);
        assertThat(r.err()).contains("alpha 2/2: inf (gradient only) -> held-out perplexity");
    }

    @Test
    void badAlphaOptionsAreOneLineErrors() throws IOException {
        Path calib = Files.writeString(dir.resolve("c.txt"), "Once upon a time.\n\nTom had a red ball.\n");
        String model = PruneCommandTest.MODEL.toString();
        String[][] cases = {
            {"--method", "wanda", "--alpha", "10"}, {"--alpha", "and normalization"},
            {"--method", "gblm", "--alpha", "-1"}, {"alpha must be a number >= 0 or inf"},
            {"--method", "gblm", "--alpha", "lots"}, {"alpha 'lots' is not a number >= 0, inf or auto"},
            {"--method", "gblm", "--normalization", "avg"}, {"unknown normalization 'avg'"},
            {"--method", "gblm", "--alpha-grid", "0,1"}, {"--alpha-grid and --holdout go with --alpha auto"},
            {"--method", "gblm", "--alpha", "auto"}, {"--alpha auto needs held-out text"},
            {"--method", "wanda", "--alpha", "auto"}, {"go with --method gblm"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            List<String> a = new ArrayList<>(List.of("prune", "--model", model, "--calibration", calib.toString(),
                    "--sparsity", "0.5", "--out", dir.resolve("o" + i).toString()));
            a.addAll(List.of(cases[i]));
            Run r = gblm(a.toArray(String[]::new));
            assertThat(r.exit()).as(String.join(" ", cases[i])).isEqualTo(2);
            assertThat(r.err().strip()).as(String.join(" ", cases[i])).startsWith("gblm: ").contains(cases[i + 1][0])
                    .doesNotContain("\n");
            assertThat(dir.resolve("o" + i)).doesNotExist();
        }
    }
}
