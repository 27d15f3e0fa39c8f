package dev.gblm.testing;

import dev.gblm.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;

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
}
