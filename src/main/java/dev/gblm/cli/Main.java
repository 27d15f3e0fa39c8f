package dev.gblm.cli;

import dev.gblm.GblmException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Entry point of {@code java -jar target/gblm.jar <command>}. */
@Command(
        name = "gblm",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Prune LLaMA-family models with GBLM-Pruner, Wanda, SparseGPT or magnitude, in batch or while calibration data streams in over Kafka.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main {
    /**
     * Third-party loggers quieted in simplelogger.properties; {@code --verbose} gives them INFO back. Kafka's
     * NetworkClient stays at ERROR even then: one WARN per reconnect attempt is never what a user asks for.
     */
    static final List<String> THIRD_PARTY_LOGGERS = List.of("ai.djl", "org.apache.kafka", "kafka", "io.micrometer");

    /** Inherited: {@code gblm --verbose eval ...} and {@code gblm eval --verbose ...} both work. */
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "also show the INFO logging of the libraries (DJL/PyTorch, Kafka); by default they report only problems")
    void verbose(boolean on) {
        if (on) {
            enableLibraryLogging();
        }
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the CLI with the given standard output and error (tests capture them this way). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        // DJL must never try to download anything: natives come from the pytorch-native-cpu jar.
        System.setProperty("ai.djl.offline", "true");
        // Output is parsed by scripts and compared across machines: 4.1911, never 4,1911. Set for the run and
        // restored, so an in-process caller (a test) keeps its own locale afterwards.
        Locale format = Locale.getDefault(Locale.Category.FORMAT);
        Locale.setDefault(Locale.Category.FORMAT, Locale.ROOT);
        try {
            return commandLine(out, err).execute(args);
        } finally {
            Locale.setDefault(Locale.Category.FORMAT, format);
        }
    }

    private static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        for (Object sub : Commands.all()) {
            cli.addSubcommand(sub);
        }
        // After the subcommands: picocli applies these only to commands registered so far.
        cli.setOut(out);
        cli.setErr(err);
        shareVersion(cli);
        cli.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            Throwable root = ex;
            while (!(root instanceof GblmException) && root.getCause() != null) {
                root = root.getCause();
            }
            if (root instanceof GblmException) {
                cmd.getErr().println("gblm: " + root.getMessage());
                return 2;
            }
            if (ex instanceof java.io.UncheckedIOException || ex instanceof java.io.IOException) {
                cmd.getErr().println("gblm: I/O error: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cli;
    }

    /** Every subcommand has {@code -V}; without this, {@code gblm eval -V} printed an empty line. */
    private static void shareVersion(CommandLine c) {
        for (CommandLine sub : c.getSubcommands().values()) {
            if (sub.getCommandSpec().version().length == 0) {
                sub.getCommandSpec().versionProvider(new Version());
            }
            shareVersion(sub);
        }
    }

    /**
     * slf4j-simple fixes a logger's level when the logger is created and lets system properties override
     * simplelogger.properties; options are parsed before any command creates a library logger, so this is early
     * enough. In-process (tests), loggers created by an earlier run keep their level.
     */
    static void enableLibraryLogging() {
        for (String name : THIRD_PARTY_LOGGERS) {
            System.setProperty("org.slf4j.simpleLogger.log." + name, "info");
        }
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
    }

    /** {@code gblm <version>} from the jar manifest's Implementation-Version (pom.xml's version). */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {line(Main.class.getPackage().getImplementationVersion())};
        }

        /** Run from target/classes (an IDE, the tests) there is no manifest, hence no version to show. */
        static String line(String implementationVersion) {
            return implementationVersion == null || implementationVersion.isBlank()
                    ? "gblm (development build)"
                    : "gblm " + implementationVersion;
        }
    }
}
