package dev.gblm.report;

import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.PruneMode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Plans the report's runs: the table (every method × pattern × mode, one run per pattern where the mode
 * makes no difference) and the sparsity sweep (unstructured, in {@code sweepMode}). A sweep point equal to
 * a table run is run once.
 */
public record QualityGrid(List<MethodVariant> methods, List<SparsityPattern> patterns, List<PruneMode> modes,
        List<Double> sweepSparsities, PruneMode sweepMode) {

    public QualityGrid {
        methods = List.copyOf(methods);
        patterns = List.copyOf(patterns);
        modes = List.copyOf(modes);
        sweepSparsities = List.copyOf(sweepSparsities);
        for (double s : sweepSparsities) {
            SparsityPattern.unstructured(s); // validates
        }
    }

    /** 50% unstructured, 2:4, 4:8 × sequential, one-shot, and the sweep 0.1 … 0.7 in sequential mode. */
    public static QualityGrid standard(List<MethodVariant> methods) {
        return new QualityGrid(methods, standardPatterns(), List.of(PruneMode.SEQUENTIAL, PruneMode.ONE_SHOT),
                standardSweep(), PruneMode.SEQUENTIAL);
    }

    public static List<SparsityPattern> standardPatterns() {
        return List.of(SparsityPattern.unstructured(0.5), SparsityPattern.nm(2, 4), SparsityPattern.nm(4, 8));
    }

    public static List<Double> standardSweep() {
        List<Double> s = new ArrayList<>();
        for (int i = 1; i <= 7; i++) {
            s.add(i / 10.0);
        }
        return s;
    }

    /** The table's runs, by method, then mode, then pattern. */
    public List<RunSpec> tableRuns() {
        Set<RunSpec> runs = new LinkedHashSet<>();
        for (MethodVariant v : methods) {
            for (PruneMode mode : modes) {
                for (SparsityPattern p : patterns) {
                    runs.add(RunSpec.of(v, p, mode));
                }
            }
        }
        return List.copyOf(runs);
    }

    /** The sweep's runs, by method, then sparsity. */
    public List<RunSpec> sweepRuns() {
        List<RunSpec> runs = new ArrayList<>();
        for (MethodVariant v : methods) {
            for (double s : sweepSparsities) {
                runs.add(RunSpec.of(v, SparsityPattern.unstructured(s), sweepMode));
            }
        }
        return runs;
    }

    /** Every distinct run, table first; this is what the runner executes. */
    public List<RunSpec> allRuns() {
        Set<RunSpec> all = new LinkedHashSet<>(tableRuns());
        all.addAll(sweepRuns());
        return List.copyOf(all);
    }

    /** The table's row keys: one per method and mode, a single row for mode-independent methods. */
    public List<RunSpec> rowKeys(SparsityPattern anyPattern) {
        Set<RunSpec> rows = new LinkedHashSet<>();
        for (MethodVariant v : methods) {
            for (PruneMode mode : modes) {
                rows.add(RunSpec.of(v, anyPattern, mode));
            }
        }
        return List.copyOf(rows);
    }
}
