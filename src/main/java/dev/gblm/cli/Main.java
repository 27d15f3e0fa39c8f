package dev.gblm.cli;

import dev.gblm.GblmException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code java -jar target/gblm.jar <command>}. */
@Command(
        name = "gblm",
        mixinStandardHelpOptions = true,
        version = "gblm 0.1.0",
        description = "Prune LLaMA-family models with GBLM-Pruner, Wanda, SparseGPT or magnitude, in batch or while calibration data streams in over Kafka.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main {

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
        CommandLine cli = new CommandLine(new Main());
        for (Object sub : Commands.all()) {
            cli.addSubcommand(sub);
        }
        // After the subcommands: picocli applies these only to commands registered so far.
        cli.setOut(out);
        cli.setErr(err);
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
        return cli.execute(args);
    }
}
