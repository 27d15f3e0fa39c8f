package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.TokenizerDetector;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm tokenize}: prints the token ids of a text, space-separated, on one line. */
@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = "Print the token ids of a text, space-separated, on one line.")
final class TokenizeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
            description = "tokenizer.model (SentencePiece), tokenizer.json (Hugging Face), or a model directory holding one")
    Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "the text to tokenize")
        String text;

        @Option(names = "--file", paramLabel = "FILE", description = "a UTF-8 file whose whole content is tokenized")
        Path file;
    }

    @Option(names = "--bos", description = "prepend the tokenizer's BOS id")
    boolean bos;

    @Override
    public Integer call() {
        String text = input.text != null ? input.text : readUtf8(input.file);
        Tokenizer tok = TokenizerDetector.open(tokenizer);
        int[] ids = tok.encode(text);
        StringBuilder line = new StringBuilder(ids.length * 6 + 8);
        if (bos) {
            if (tok.bosId() < 0) {
                throw new GblmException("--bos: the tokenizer " + tokenizer + " defines no BOS token");
            }
            line.append(tok.bosId());
        }
        for (int id : ids) {
            if (line.length() > 0) {
                line.append(' ');
            }
            line.append(id);
        }
        spec.commandLine().getOut().println(line);
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static String readUtf8(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new GblmException("text file not found: " + file);
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new GblmException("text file is not valid UTF-8: " + file, e);
        } catch (IOException e) {
            throw new GblmException("cannot read text file " + file + ": " + e.getMessage(), e);
        }
    }
}
