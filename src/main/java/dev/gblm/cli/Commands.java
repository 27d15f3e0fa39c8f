package dev.gblm.cli;

import dev.gblm.bench.BenchCommand;
import dev.gblm.report.ReportCommand;
import java.util.List;

/** The registry of subcommands: one place to add a command to the CLI. */
final class Commands {
    private Commands() {}

    static List<Object> all() {
        // the order of `gblm --help`: start here, model tools, batch pruning, then the streaming services
        return List.of(
                new DemoCommand(),
                new EvalCommand(),
                new GenerateCommand(),
                new TokenizeCommand(),
                new PruneCommand(),
                new ReportCommand(),
                new RunCommand(),
                new BrokerCommand(),
                new TopicsCommand(),
                new TeamCommand(),
                new IngestCommand(),
                new WorkerCommand(),
                new FinalizerCommand(),
                new ExporterCommand(),
                new JobCommand(),
                new BenchCommand());
    }
}
