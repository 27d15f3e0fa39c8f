package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.stream.JobSpec;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses {@code gblm run --job id=..,streams=a+b,method=..,sparsity=..,pattern=..,min-samples=..[,grad-norm=..]
 * [,tail-rule=..][,alpha=..][,alpha-grid=0+10+inf][,normalization=..][,holdout=..]}. Streams and grid points are
 * joined with '+' (the comma separates fields). The profile is filled in by the run.
 */
final class JobArgument {
    private static final Set<String> KEYS = Set.of("id", "streams", "method", "sparsity", "pattern", "min-samples",
            "grad-norm", "tail-rule", "alpha", "alpha-grid", "normalization", "holdout");

    private JobArgument() {}

    static JobSpec parse(String arg) {
        Map<String, String> kv = new HashMap<>();
        for (String part : arg.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new GblmException("--job: expected key=value, got '" + part + "' (keys: " + String.join(", ", KEYS.stream().sorted().toList()) + ")");
            }
            String k = part.substring(0, eq).strip();
            if (!KEYS.contains(k)) {
                throw new GblmException("--job: unknown key '" + k + "' (keys: " + String.join(", ", KEYS.stream().sorted().toList()) + ")");
            }
            if (kv.put(k, part.substring(eq + 1).strip()) != null) {
                throw new GblmException("--job: key '" + k + "' given twice");
            }
        }
        for (String required : List.of("id", "streams", "method")) {
            if (!kv.containsKey(required)) {
                throw new GblmException("--job needs " + required + "=...");
            }
        }
        Double sparsity = null;
        if (kv.containsKey("sparsity")) {
            try {
                sparsity = Double.parseDouble(kv.get("sparsity"));
            } catch (NumberFormatException e) {
                throw new GblmException("--job: sparsity must be a number, got '" + kv.get("sparsity") + "'");
            }
        }
        int minSamples = 0;
        if (kv.containsKey("min-samples")) {
            try {
                minSamples = Integer.parseInt(kv.get("min-samples"));
            } catch (NumberFormatException e) {
                throw new GblmException("--job: min-samples must be an integer, got '" + kv.get("min-samples") + "'");
            }
        }
        List<String> streams = Arrays.stream(kv.get("streams").split("\\+")).map(String::strip).toList();
        // placeholder profile: Pipeline.submit replaces it with the run's own
        double holdout = 0;
        if (kv.containsKey("holdout")) {
            try {
                holdout = Double.parseDouble(kv.get("holdout"));
            } catch (NumberFormatException e) {
                throw new GblmException("--job: holdout must be a fraction, got '" + kv.get("holdout") + "'");
            }
        }
        return new JobSpec(kv.get("id"), "0000000000000000", streams, kv.get("method"), sparsity,
                kv.getOrDefault("pattern", "unstructured"), kv.get("tail-rule"), kv.get("grad-norm"), minSamples, 0, 0,
                null, kv.get("alpha"), kv.get("normalization"), holdout,
                kv.containsKey("alpha-grid") ? Arrays.stream(kv.get("alpha-grid").split("\\+")).map(String::strip).toList()
                        : null);
    }
}
