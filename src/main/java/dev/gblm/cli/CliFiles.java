package dev.gblm.cli;

import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** File reading with user-facing errors. */
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
}
