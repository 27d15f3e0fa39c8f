package dev.gblm.cli;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LlamaModel;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model} and {@code --tokenizer} of the commands that run a model ({@code @Mixin}). */
final class ModelOptions {
    @Option(names = "--model", required = true, description = "HF directory, llama2.c .bin, or a directory holding one")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer file (default: found next to the model)")
    Path tokenizer;

    Checkpoint checkpoint() {
        return Checkpoints.load(model);
    }

    /** The model on the engine; the caller closes it. */
    LlamaModel load() {
        return LlamaModel.load(checkpoint());
    }

    /** The --tokenizer file, else the one found next to the model. */
    Tokenizer tokenizer() {
        return Tokenizers.load(model, tokenizer);
    }
}
