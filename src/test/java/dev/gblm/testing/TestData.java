package dev.gblm.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates {@code ../shared/data} (overridable with {@code -Dgblm.data=...} or {@code GBLM_DATA}).
 * Tests that need a file call {@link #require} and are skipped, with a message, where it is absent.
 */
public final class TestData {
    private TestData() {}

    public static Path root() {
        String p = System.getProperty("gblm.data");
        if (p == null || p.isBlank()) {
            p = System.getenv("GBLM_DATA");
        }
        if (p == null || p.isBlank()) {
            p = "../shared/data";
        }
        return Path.of(p).toAbsolutePath().normalize();
    }

    /** Returns the file under the data root, skipping the calling test if it does not exist. */
    public static Path require(String relative) {
        Path f = root().resolve(relative);
        assumeTrue(Files.exists(f), "shared test data not found: " + f + " (set -Dgblm.data)");
        return f;
    }
}
