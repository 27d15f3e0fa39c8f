package dev.gblm.cli;

import java.util.List;

/** The registry of subcommands: one place to add a command to the CLI. */
final class Commands {
    private Commands() {}

    static List<Object> all() {
        return List.of(new TopicsCommand(), new BrokerCommand(), new IngestCommand(), new JobCommand(), new FinalizerCommand(),
                new dev.gblm.bench.BenchCommand());
    }
}
