package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code --model}, {@code --tokenizer}, {@code --threads} and {@code --device} of the commands that run a model ({@code @Mixin}). */
final class ModelOptions {
    @Option(names = "--model", required = true, description = "HF directory, llama2.c .bin, or a directory holding one")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer file (default: found next to the model)")
    Path tokenizer;

    @Option(names = "--threads", paramLabel = "N",
            description = "PyTorch compute threads (default: PyTorch's own, one per core). 1 is often faster on a "
                    + "machine shared with other busy processes")
    Integer threads;

    @Mixin
    DeviceOption device = new DeviceOption();

    /** Where the error/diagnostic lines go (the device chosen); set by the command. */
    private PrintWriter err = new PrintWriter(System.err, true);

    Checkpoint checkpoint() {
        return Checkpoints.load(model);
    }

    /** Sends the device line to the command's error stream instead of the process's. */
    ModelOptions err(PrintWriter w) {
        this.err = w;
        return this;
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
        device.apply(err);
        return LlamaModel.load(ckpt);
    }

    /** The --tokenizer file, else the one found next to the model. */
    Tokenizer tokenizer() {
        return Tokenizers.load(model, tokenizer);
    }
}
