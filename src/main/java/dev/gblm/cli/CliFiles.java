package dev.gblm.cli;

import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;

/** File reading and writing with user-facing errors. */
final class CliFiles {
    private CliFiles() {}

    static String readText(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new GblmException("text file not found: " + file);
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new GblmException("text file is not valid UTF-8: " + file);
        } catch (IOException e) {
            throw new GblmException("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** Prints {@code text} to the command's standard output, or writes it to {@code out} (folders created) and says so. */
    static void writeOutput(CommandSpec spec, Path out, String text) {
        if (out == null) {
            spec.commandLine().getOut().print(text);
            spec.commandLine().getOut().flush();
            return;
        }
        try {
            if (out.toAbsolutePath().getParent() != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
            }
            Files.writeString(out, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new GblmException("cannot write " + out + ": " + e.getMessage());
        }
        spec.commandLine().getErr().println("wrote " + out);
    }
}
