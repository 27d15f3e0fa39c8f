package dev.gblm.bench;

import dev.gblm.GblmException;
import dev.gblm.model.DType;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.RopeScaling;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Writes a random LLaMA checkpoint of any shape as a Hugging Face directory, streaming the tensors to disk (never
 * the whole model in memory): for size tests of loading, evaluation and pruning without downloading a model.
 */
@Command(name = "checkpoint", mixinStandardHelpOptions = true,
        description = "Write a random LLaMA checkpoint of any shape (Hugging Face directory, streamed to disk).")
final class RandomCheckpointCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, description = "output directory (created; must not hold a config.json)")
    Path out;

    @Option(names = "--hidden", defaultValue = "512", description = "hidden size (default ${DEFAULT-VALUE})")
    int hidden;

    @Option(names = "--intermediate", defaultValue = "1376", description = "MLP size (default ${DEFAULT-VALUE})")
    int intermediate;

    @Option(names = "--layers", defaultValue = "8", description = "decoder layers (default ${DEFAULT-VALUE})")
    int layers;

    @Option(names = "--heads", defaultValue = "8", description = "attention heads (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--kv-heads", description = "key/value heads (default: --heads, no grouped-query attention)")
    Integer kvHeads;

    @Option(names = "--head-dim", description = "explicit head size (default: hidden / heads)")
    Integer headDim;

    @Option(names = "--vocab", defaultValue = "32000", description = "vocabulary size (default ${DEFAULT-VALUE})")
    int vocab;

    @Option(names = "--context", defaultValue = "2048",
            description = "max_position_embeddings (default ${DEFAULT-VALUE})")
    int context;

    @Option(names = "--rope-theta", defaultValue = "10000", description = "rope_theta (default ${DEFAULT-VALUE})")
    double ropeTheta;

    @Option(names = "--dtype", defaultValue = "bf16", description = "f32, f16 or bf16 (default ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--head", defaultValue = "tied",
            description = "tied (lm_head = embedding) or untied (default ${DEFAULT-VALUE})")
    String head;

    @Option(names = "--shard-size", defaultValue = "5GB",
            description = "largest shard, e.g. 500MB, 2GB, 4GiB (default ${DEFAULT-VALUE}); one model.safetensors "
                    + "when everything fits")
    String shardSize;

    @Option(names = "--rope-scaling", defaultValue = "none",
            description = "none, linear, dynamic or llama3 (default ${DEFAULT-VALUE})")
    String ropeScaling;

    @Option(names = "--rope-factor", defaultValue = "8", description = "rope_scaling factor (default ${DEFAULT-VALUE})")
    double ropeFactor;

    @Option(names = "--rope-low-freq-factor", defaultValue = "1",
            description = "llama3 low_freq_factor (default ${DEFAULT-VALUE})")
    double lowFreqFactor;

    @Option(names = "--rope-high-freq-factor", defaultValue = "4",
            description = "llama3 high_freq_factor (default ${DEFAULT-VALUE})")
    double highFreqFactor;

    @Option(names = "--rope-original-context", defaultValue = "8192",
            description = "llama3 original_max_position_embeddings (default ${DEFAULT-VALUE})")
    int originalContext;

    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        LlamaConfig c = config();
        DType type = dtype(dtype);
        long shard = parseBytes(shardSize);
        if (Files.exists(out.resolve("config.json"))) {
            throw new GblmException("refusing to overwrite the model in " + out);
        }
        long t0 = System.nanoTime();
        List<String> files = RandomCheckpoints.write(c, type, seed, out, shard);
        long bytes = 0;
        for (String f : files) {
            bytes += out.resolve(f).toFile().length();
        }
        spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s: %s in %.1f s%n", out,
                String.join(", ", files) + String.format(Locale.ROOT, " (%.3f GB)", bytes / 1e9),
                (System.nanoTime() - t0) / 1e9);
        return 0;
    }

    LlamaConfig config() {
        boolean tied = switch (head) {
            case "tied" -> true;
            case "untied" -> false;
            default -> throw new GblmException("--head must be tied or untied, got '" + head + "'");
        };
        RopeScaling scaling = switch (ropeScaling) {
            case "none" -> null;
            case "linear" -> RopeScaling.linear(ropeFactor);
            case "dynamic" -> new RopeScaling(RopeScaling.Type.DYNAMIC, ropeFactor, 0, 0, 0);
            case "llama3" -> RopeScaling.llama3(ropeFactor, lowFreqFactor, highFreqFactor, originalContext);
            default -> throw new GblmException("--rope-scaling must be none, linear, dynamic or llama3, got '"
                    + ropeScaling + "'");
        };
        int kv = kvHeads == null ? heads : kvHeads;
        int hd = headDim != null ? headDim : heads > 0 && hidden % heads == 0 ? hidden / heads : -1;
        if (hd <= 0) {
            throw new GblmException("--hidden " + hidden + " is not divisible by --heads " + heads
                    + "; give --head-dim");
        }
        return new LlamaConfig(hidden, intermediate, layers, heads, kv, vocab, context, 1e-5, ropeTheta, tied, 1, 2,
                "float32", hd, scaling, null, null);
    }

    static DType dtype(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> DType.F32;
            case "f16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new GblmException("--dtype must be f32, f16 or bf16, got '" + s + "'");
        };
    }

    /** "123", "500MB", "2GB" (decimal) or "4GiB", "512MiB" (binary). */
    static long parseBytes(String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        for (String[] u : new String[][] {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"},
            {"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
            if (t.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0)) {
                throw new NumberFormatException();
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new GblmException("not a positive size: '" + s + "' (e.g. 500MB, 2GB, 4GiB)");
        }
    }
}
