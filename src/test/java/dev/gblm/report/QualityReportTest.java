package dev.gblm.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.PruneMode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Markdown rendering from made-up runs (no model). */
class QualityReportTest {
    static final SparsityPattern HALF = SparsityPattern.unstructured(0.5);
    static final SparsityPattern NM24 = SparsityPattern.nm(2, 4);

    final QualityGrid grid = new QualityGrid(List.of(MethodVariant.MAGNITUDE, MethodVariant.WANDA,
            MethodVariant.GRADIENT_L1), List.of(HALF, NM24), List.of(PruneMode.SEQUENTIAL, PruneMode.ONE_SHOT),
            List.of(0.5), PruneMode.SEQUENTIAL);

    QualityReport.Inputs inputs(Map<RunSpec, RunResult> runs) {
        RunResult dense = new RunResult(null, 4.2, Math.log(4.2), 9618, 0, 0, 1.5);
        MachineInfo m = new MachineInfo("Test CPU", 2, 8L << 30, "Linux 6 (amd64)", "OpenJDK 17", 1.25);
        return new QualityReport.Inputs(grid, dense, runs, m, "java -jar target/gblm.jar report quality", "2025-01-01",
                List.of("Evaluation: protocol line"), "tail note here", "quality-sparsity.png", 123.4, 1);
    }

    Map<RunSpec, RunResult> runs() {
        Map<RunSpec, RunResult> r = new LinkedHashMap<>();
        add(r, RunSpec.of(MethodVariant.MAGNITUDE, HALF, null), 38.0, 2.0);
        add(r, RunSpec.of(MethodVariant.MAGNITUDE, NM24, null), 110.0, 2.0);
        add(r, RunSpec.of(MethodVariant.WANDA, HALF, PruneMode.SEQUENTIAL), 19.25, 4.0);
        add(r, RunSpec.of(MethodVariant.WANDA, HALF, PruneMode.ONE_SHOT), 19.5, 3.0);
        add(r, RunSpec.of(MethodVariant.WANDA, NM24, PruneMode.SEQUENTIAL), 60.0, 4.0);
        // wanda 2:4 one-shot missing on purpose
        add(r, RunSpec.of(MethodVariant.GRADIENT_L1, HALF, null), 25.0, 6.0);
        add(r, RunSpec.of(MethodVariant.GRADIENT_L1, NM24, null), 70.0, 6.0);
        return r;
    }

    static void add(Map<RunSpec, RunResult> r, RunSpec s, double ppl, double prune) {
        r.put(s, new RunResult(s, ppl, Math.log(ppl), 9618, 0.5, prune, 1.0));
    }

    @Test
    void perplexityTableHasDenseThenOneRowPerMethodAndModeWithDashesForMissingRuns() {
        String table = QualityReport.perplexityTable(inputs(runs())).render();
        assertThat(table.lines()).containsSubsequence(
                "| method | mode | 50% unstructured | 2:4 |",
                "| dense | — | 4.200 | 4.200 |",
                "| magnitude | none | 38.000 | 110.0 |",
                "| wanda | sequential | 19.250 | 60.000 |",
                "| wanda | one-shot | 19.500 | — |",
                "| gradient-l1 | either | 25.000 | 70.000 |");
        assertThat(table.lines()).hasSize(2 + 1 + 4);
    }

    @Test
    void referenceCheckComparesWithTheIndependentFigures() {
        String s = QualityReport.referenceCheck(inputs(runs()));
        // 4.2 / 4.184 - 1 = +0.38%; 38 / 38.5 - 1 = -1.30%
        assertThat(s).contains("dense 4.200 over 9618 tokens", "(+0.38%)", "38.000 against the reference's about 38.5 (-1.30%)");
    }

    @Test
    void timeTableAggregatesPerMethodAndMode() {
        String t = QualityReport.timeTable(inputs(runs())).render();
        assertThat(t.lines()).contains("| magnitude | none | 2 | 4.00 | 2.00 | 1.00 |",
                "| wanda | sequential | 2 | 8.00 | 4.00 | 1.00 |", "| wanda | one-shot | 1 | 3.00 | 3.00 | 1.00 |",
                "| gradient-l1 | either | 2 | 12.0 | 6.00 | 1.00 |");
    }

    @Test
    void fullReportHasEverySectionAndTheComputedRanking() {
        String md = QualityReport.render(inputs(runs()));
        assertThat(md).contains("# Quality report", "java -jar target/gblm.jar report quality", "2025-01-01",
                "- Evaluation: protocol line", "- N:M tail: tail note here", "## Perplexity (lower is better)",
                "## Ranking (computed from the table)", "![perplexity against sparsity](quality-sparsity.png)",
                "## Time per method", "123.4 s", "- CPU: Test CPU, 2 cores", "PyTorch intra-op threads: 1",
                "- Memory: 8.0 GiB", "- Java: OpenJDK 17", "## All runs");
        assertThat(md).contains("**50% unstructured, sequential**: wanda 19.250 < gradient-l1 25.000 < magnitude 38.000.");
        assertThat(md).contains("**2:4, one-shot**: gradient-l1 70.000 < magnitude 110.0.");
        assertThat(md).contains("| wanda | 19.250 |");
    }
}
