package dev.gblm.report;

import static dev.gblm.testing.GblmCli.gblm;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.eval.EvalProtocols;
import dev.gblm.testing.GblmCli.Run;
import dev.gblm.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code gblm report quality} end to end on stories260K with a small grid, and its bad-input handling. */
class QualityCommandTest {
    @TempDir
    Path dir;

    @Test
    void magnitudeOnlyReportMatchesTheIndependentReferenceFigures() throws Exception {
        Path data = TestData.require("corpora/tinystories_val_head.txt").getParent().getParent();
        Path md = dir.resolve("docs/quality.md");
        Path png = dir.resolve("docs/plot.png");
        Run r = gblm("report", "quality", "--methods", "magnitude", "--sweep", "0.3,0.5", "--data", data.toString(),
                "--out", md.toString(), "--plot", png.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        String text = Files.readString(md);
        // dense 4.184 and 50% magnitude about 38.5: the independent figures of shared/data/README.md
        Matcher dense = Pattern.compile("\\| dense \\| — \\| ([0-9.]+) \\|").matcher(text);
        assertThat(dense.find()).isTrue();
        assertThat(Double.parseDouble(dense.group(1))).isCloseTo(4.184, org.assertj.core.data.Offset.offset(0.002));
        Matcher mag = Pattern.compile("\\| magnitude \\| none \\| ([0-9.]+) \\|").matcher(text);
        assertThat(mag.find()).isTrue();
        assertThat(Double.parseDouble(mag.group(1))).isCloseTo(38.5, org.assertj.core.data.Offset.offset(0.5));
        assertThat(text).contains("![perplexity against sparsity](plot.png)", "report quality --methods magnitude")
                .contains("| magnitude | 50% unstructured | none |", "| magnitude | 30% unstructured | none |");
        assertThat(ImageIO.read(png.toFile())).isNotNull();
        assertThat(r.err()).contains("[4/4] magnitude 30% unstructured");
    }

    @Test
    void calibrationFileIsChunks500To627OfTheValidationHead() throws Exception {
        String head = Files.readString(TestData.require("corpora/tinystories_val_head.txt"));
        String calib = Files.readString(TestData.require(QualityCommand.CALIB_FILE));
        List<String> chunks = EvalProtocols.chunks(head);
        assertThat(EvalProtocols.chunks(calib)).hasSize(128).isEqualTo(chunks.subList(500, 628));
    }

    @Test
    void badInputEndsWithOneLineAndWritesNothing() {
        Path md = dir.resolve("q.md");
        for (String[] extra : List.of(new String[] {"--methods", "gblm"}, new String[] {"--sweep", "0.5,1.5"},
                new String[] {"--data", dir.resolve("missing").toString()}, new String[] {"--tail-rule", "drop"},
                new String[] {"--samples", "0"})) {
            String[] args = new String[4 + extra.length];
            args[0] = "report";
            args[1] = "quality";
            args[2] = "--out";
            args[3] = md.toString();
            System.arraycopy(extra, 0, args, 4, extra.length);
            Run r = gblm(args);
            assertThat(r.exit()).as(String.join(" ", extra)).isEqualTo(2);
            assertThat(r.err().lines().filter(l -> !l.isBlank())).as(r.err()).singleElement().asString()
                    .startsWith("gblm: ");
            assertThat(md).doesNotExist();
        }
    }
}
