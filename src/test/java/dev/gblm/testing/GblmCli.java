package dev.gblm.testing;

import dev.gblm.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;

/** Runs the CLI in-process with captured standard output and error. */
public final class GblmCli {
    private GblmCli() {}

    /** Result of one CLI run: exit code and captured streams. */
    public record Run(int exit, String out, String err) {}

    /** {@code gblm args...} through {@link Main#run(PrintWriter, PrintWriter, String...)}. */
    public static Run gblm(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(exit, out.toString(), err.toString());
    }

    /**
     * {@code gblm args...} through {@link Main#run(String...)}, the entry point {@code java -jar} uses, with
     * {@code System.out} and {@code System.err} captured (so anything printed outside the command's writers, e.g. a
     * library's console output, is seen too). Serialised: the system streams are process-wide.
     */
    public static synchronized Run gblmWithSystemStreams(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
