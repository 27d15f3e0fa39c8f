package dev.gblm.tokenizer;

import dev.gblm.GblmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Finds and loads the tokenizer that belongs to a model. The single entry point for all formats. */
public final class Tokenizers {
    private Tokenizers() {}

    /** llama2.c tokenizer file names looked for, in order. */
    private static final List<String> LLAMA2C_NAMES = List.of("tokenizer.bin", "tok512.bin");

    /**
     * Loads {@code override} when given, else the tokenizer in the model directory (or next to a model
     * file).
     */
    public static Tokenizer load(Path modelPath, Path overrideOrNull) {
        if (overrideOrNull != null) {
            if (!Files.isRegularFile(overrideOrNull)) {
                throw new GblmException("tokenizer not found: " + overrideOrNull);
            }
            return loadFile(overrideOrNull);
        }
        Path dir = Files.isDirectory(modelPath) ? modelPath : modelPath.toAbsolutePath().getParent();
        for (String name : LLAMA2C_NAMES) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) {
                return loadFile(p);
            }
        }
        throw new GblmException("no tokenizer found in " + dir + " (looked for " + String.join(", ", LLAMA2C_NAMES)
                + "); give one with --tokenizer");
    }

    /** Loads a tokenizer file, choosing the format by its name. */
    public static Tokenizer loadFile(Path file) {
        String name = file.getFileName().toString();
        if (name.endsWith(".bin")) {
            return Llama2cTokenizer.load(file);
        }
        throw new GblmException("unsupported tokenizer file " + file + " (supported: llama2.c tokenizer.bin)");
    }
}
