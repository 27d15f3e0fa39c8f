package dev.gblm.report;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code gblm report <kind>}: regenerates the project's measured documents. */
@Command(name = "report", mixinStandardHelpOptions = true, subcommands = {QualityCommand.class},
        description = "Regenerate measured reports (docs/quality.md).")
public final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }
}
