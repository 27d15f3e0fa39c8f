package dev.gblm.tokenizer;

import dev.gblm.GblmException;
import java.nio.file.Path;

/** Finds and loads the tokenizer that belongs to a model. The single entry point for all formats. */
public final class Tokenizers {
    private Tokenizers() {}

    /**
     * Loads {@code override} when given, else the tokenizer in the model directory (or next to a model
     * file): {@code tokenizer.model}, {@code tokenizer.json}, {@code tokenizer.bin} or {@code tok512.bin}.
     */
    public static Tokenizer load(Path modelPath, Path overrideOrNull) {
        if (overrideOrNull != null) {
            return loadFile(overrideOrNull);
        }
        return TokenizerDetector.detect(modelPath).orElseThrow(() -> new GblmException("no tokenizer found next to "
                + modelPath + " (looked for " + String.join(", ", TokenizerDetector.NAMES) + "); give one with --tokenizer"));
    }

    /** Loads a tokenizer file, choosing the format by its name or content. */
    public static Tokenizer loadFile(Path file) {
        return TokenizerDetector.open(file);
    }
}
