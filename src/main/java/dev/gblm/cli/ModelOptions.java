package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model}, {@code --tokenizer} and {@code --threads} of the commands that run a model ({@code @Mixin}). */
final class ModelOptions {
    @Option(names = "--model", required = true, description = "HF directory, llama2.c .bin, or a directory holding one")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer file (default: found next to the model)")
    Path tokenizer;

    @Option(names = "--threads", paramLabel = "N",
            description = "PyTorch compute threads (default: PyTorch's own, one per core). 1 is often faster on a "
                    + "machine shared with other busy processes")
    Integer threads;

    Checkpoint checkpoint() {
        return Checkpoints.load(model);
    }

    /** The model on the engine, with --threads applied to the calling thread; the caller closes it. */
    LlamaModel load() {
        return load(checkpoint());
    }

    /** {@code ckpt} on the engine, with --threads applied to the calling thread; the caller closes it. */
    LlamaModel load(Checkpoint ckpt) {
        if (threads != null) {
            if (threads < 1) {
                throw new GblmException("--threads must be at least 1, got " + threads);
            }
            LlamaModel.setComputeThreads(threads);
        }
        return LlamaModel.load(ckpt);
    }

    /** The --tokenizer file, else the one found next to the model. */
    Tokenizer tokenizer() {
        return Tokenizers.load(model, tokenizer);
    }
}
