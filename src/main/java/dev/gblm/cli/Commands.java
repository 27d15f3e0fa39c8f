package dev.gblm.cli;

import dev.gblm.bench.BenchCommand;
import java.util.List;

/** The registry of subcommands: one place to add a command to the CLI. */
final class Commands {
    private Commands() {}

    static List<Object> all() {
        return List.of(
                new TokenizeCommand(),
                new EvalCommand(),
                new GenerateCommand(),
                new TopicsCommand(),
                new BrokerCommand(),
                new IngestCommand(),
                new JobCommand(),
                new FinalizerCommand(),
                new BenchCommand(),
                new PruneCommand(),
                new WorkerCommand(),
                new ExporterCommand(),
                new RunCommand(),
                new DemoCommand());
    }
}
