package dev.gblm.bench;

import dev.gblm.model.LlamaConfig;
import java.util.Locale;
import picocli.CommandLine.Option;

/** The shape options of the benchmarks that generate a random LLaMA ({@code @Mixin}; defaults per benchmark). */
final class RandomModelOptions {
    @Option(names = "--hidden", description = "hidden size of the random model (default ${DEFAULT-VALUE})")
    int hidden;

    @Option(names = "--layers", description = "decoder layers (default ${DEFAULT-VALUE})")
    int layers;

    @Option(names = "--heads", description = "attention heads (default ${DEFAULT-VALUE})")
    int heads;

    @Option(names = "--intermediate", description = "MLP intermediate size (default ${DEFAULT-VALUE})")
    int intermediate;

    @Option(names = "--vocab", description = "vocabulary size (default ${DEFAULT-VALUE})")
    int vocab;

    /** The ~25M-parameter default of the engine, prune and pipeline benchmarks. */
    RandomModelOptions() {
        this(512, 8, 8, 1376, 32000);
    }

    RandomModelOptions(int hidden, int layers, int heads, int intermediate, int vocab) {
        this.hidden = hidden;
        this.layers = layers;
        this.heads = heads;
        this.intermediate = intermediate;
        this.vocab = vocab;
    }

    /** Float32, tied embeddings, no grouped-query attention, BOS 1 / EOS 2. */
    LlamaConfig config(int context) {
        return new LlamaConfig(hidden, intermediate, layers, heads, heads, vocab, context, 1e-5, 10000, true, 1, 2,
                "float32");
    }

    /** "hidden H, L layers, N heads, intermediate I, vocab V", as the benchmarks print it. */
    String describe() {
        return String.format(Locale.ROOT, "hidden %d, %d layers, %d heads, intermediate %d, vocab %d", hidden, layers,
                heads, intermediate, vocab);
    }
}
