package dev.gblm.cli;

import static dev.gblm.testing.GblmCli.gblm;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.testing.GblmCli.Run;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Locale-independent numbers, the build's version, quiet libraries by default. */
class CliPolishTest {
    static final Path MODEL = Path.of("models/stories260K/stories260K.bin");

    @TempDir
    Path dir;

    @Test
    void evalPrintsDotDecimalsUnderAGermanLocale() throws IOException {
        Path text = Files.writeString(dir.resolve("t.txt"),
                "Once upon a time there was a cat.\n\nThe cat liked milk. It was happy.\n");
        Locale before = Locale.getDefault();
        Run r;
        try {
            Locale.setDefault(Locale.GERMANY);
            r = gblm("eval", "--model", MODEL.toString(), "--text", text.toString());
            // the CLI restores what it changed for the run
            assertThat(Locale.getDefault(Locale.Category.FORMAT)).isEqualTo(Locale.GERMANY);
        } finally {
            Locale.setDefault(before);
        }
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).matches("perplexity \\d+\\.\\d{4}  \\(mean NLL \\d+\\.\\d{4} over \\d+ tokens in 2 "
                + "sequences, \\d+\\.\\ds\\)\\R");
        assertThat(r.err()).containsPattern("eval 2/2 sequences, [\\d.]+ sequences/s, \\d+\\.\\d s, \\d+ tokens, "
                + "ppl \\d+\\.\\d{4}").doesNotContain("\r");
    }

    @Test
    void versionComesFromTheJarManifest() {
        assertThat(Main.Version.line("1.2.3")).isEqualTo("gblm 1.2.3");
        assertThat(Main.Version.line(null)).isEqualTo("gblm (development build)");
        // the tests run from target/classes: no manifest
        Run r = gblm("--version");
        assertThat(r.exit()).isZero();
        assertThat(r.out().strip()).isEqualTo("gblm (development build)");
        assertThat(gblm("eval", "--version").out().strip()).isEqualTo("gblm (development build)");
        assertThat(gblm("job", "submit", "-V").out().strip()).isEqualTo("gblm (development build)");
    }

    @Test
    void librariesLogOnlyProblemsByDefault() throws IOException {
        Properties p = new Properties();
        // the test classpath has its own simplelogger.properties; this is the one the jar ships
        try (Reader in = Files.newBufferedReader(Path.of("src/main/resources/simplelogger.properties"))) {
            p.load(in);
        }
        String prefix = "org.slf4j.simpleLogger.log.";
        assertThat(p.getProperty("org.slf4j.simpleLogger.defaultLogLevel")).isEqualTo("warn");
        assertThat(p.getProperty(prefix + "dev.gblm")).as("gblm's own progress").isEqualTo("info");
        assertThat(p.getProperty(prefix + "ai.djl")).as("DJL's CUDA warning on CPU machines").isEqualTo("error");
        assertThat(p.getProperty(prefix + "org.apache.kafka")).isEqualTo("warn");
    }

    @Test
    void verboseGivesTheLibrariesInfoBack() {
        try {
            Run r = gblm("--verbose", "eval", "--help");
            assertThat(r.exit()).isZero();
            assertThat(System.getProperty("org.slf4j.simpleLogger.log.ai.djl")).isEqualTo("info");
            assertThat(System.getProperty("org.slf4j.simpleLogger.log.org.apache.kafka")).isEqualTo("info");
            assertThat(System.getProperty("org.slf4j.simpleLogger.defaultLogLevel")).isEqualTo("info");
        } finally {
            clearLoggingProperties();
        }
        try {
            assertThat(gblm("eval", "--verbose", "--help").exit()).as("the option on a subcommand").isZero();
            assertThat(System.getProperty("org.slf4j.simpleLogger.log.ai.djl")).isEqualTo("info");
        } finally {
            clearLoggingProperties();
        }
        assertThat(gblm("eval", "--help").out()).contains("--verbose");
    }

    /** Later tests in this JVM create loggers too: leave the levels as the properties file says. */
    private static void clearLoggingProperties() {
        for (String name : Main.THIRD_PARTY_LOGGERS) {
            System.clearProperty("org.slf4j.simpleLogger.log." + name);
        }
        System.clearProperty("org.slf4j.simpleLogger.defaultLogLevel");
    }
}
