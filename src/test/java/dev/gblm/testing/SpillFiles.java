package dev.gblm.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What the memory-bounded passes leave on disk under a spill parent directory, for the spill tests. */
public final class SpillFiles {
    private SpillFiles() {}

    /** Files in the {@code gblm-spill-*} directories under {@code parent} (asserting nothing else is there). */
    public static int count(Path parent) {
        int n = 0;
        for (Path d : list(parent)) {
            assertThat(d.getFileName().toString()).startsWith("gblm-spill-");
            n += list(d).size();
        }
        return n;
    }

    /** The entries of {@code dir}; none when it does not exist. */
    public static List<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
