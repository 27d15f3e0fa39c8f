package dev.gblm.tokenizer;

import dev.gblm.GblmException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds and opens the tokenizer of a model: {@code tokenizer.model} (SentencePiece) or
 * {@code tokenizer.json} (Hugging Face) in the model's directory, or an explicit file.
 *
 * <p>When a directory holds both, {@code tokenizer.model} wins: the GBLM/Wanda reference code
 * tokenizes with the slow SentencePiece tokenizer, and this one is verified id-for-id against it.
 */
public final class TokenizerDetector {
    /** Looked for in a model directory, in this order. */
    static final String[] NAMES = {"tokenizer.model", "tokenizer.json", "tokenizer.bin", "tok512.bin"};

    private TokenizerDetector() {}

    /**
     * The tokenizer next to a model: {@code modelPathOrDir} is a model directory, or a file inside
     * one. Empty when none of {@link #NAMES} is there.
     */
    public static Optional<Tokenizer> detect(Path modelPathOrDir) {
        Path dir = Files.isDirectory(modelPathOrDir) ? modelPathOrDir : modelPathOrDir.toAbsolutePath().getParent();
        if (dir == null) {
            return Optional.empty();
        }
        for (String name : NAMES) {
            Path candidate = dir.resolve(name);
            if (Files.isRegularFile(candidate)) {
                return Optional.of(open(candidate));
            }
        }
        return Optional.empty();
    }

    /**
     * Opens a tokenizer file, choosing the format by extension ({@code .model}, {@code .json},
     * {@code .bin}) and otherwise by content. A directory is searched as in {@link #detect}.
     */
    public static Tokenizer open(Path tokenizerFile) {
        if (Files.isDirectory(tokenizerFile)) {
            return detect(tokenizerFile).orElseThrow(() -> new GblmException(
                    "no tokenizer (" + String.join(", ", NAMES) + ") in directory " + tokenizerFile));
        }
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new GblmException("tokenizer file not found: " + tokenizerFile);
        }
        return switch (formatOf(tokenizerFile)) {
            case SENTENCEPIECE -> SentencePieceTokenizer.load(tokenizerFile);
            case HUGGING_FACE -> HfTokenizer.load(tokenizerFile);
            case LLAMA2C -> Llama2cTokenizer.load(tokenizerFile);
        };
    }

    enum Format { SENTENCEPIECE, HUGGING_FACE, LLAMA2C }

    static Format formatOf(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".model")) {
            return Format.SENTENCEPIECE;
        }
        if (name.endsWith(".json")) {
            return Format.HUGGING_FACE;
        }
        if (name.endsWith(".bin")) {
            return Format.LLAMA2C;
        }
        return sniff(file);
    }

    /**
     * JSON starts with '{' (after optional whitespace or a byte-order mark); a SentencePiece
     * ModelProto starts with its first piece, field 1 with wire type 2, i.e. the byte 0x0A.
     * llama2.c files have no signature, so they need the .bin extension.
     */
    private static Format sniff(Path file) {
        byte[] head;
        try (InputStream in = Files.newInputStream(file)) {
            head = in.readNBytes(256);
        } catch (IOException e) {
            throw new GblmException("cannot read tokenizer file " + file + ": " + e.getMessage(), e);
        }
        for (byte b : head) {
            int c = b & 0xff;
            if (c == '{') {
                return Format.HUGGING_FACE;
            }
            if (!(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF)) {
                break;
            }
        }
        if (head.length > 0 && head[0] == 0x0A) {
            return Format.SENTENCEPIECE;
        }
        throw new GblmException("unknown tokenizer format: " + file
                + " (expected a SentencePiece .model, a Hugging Face tokenizer.json or a llama2.c tokenizer.bin)");
    }
}
