package dev.gblm.bench;

import picocli.CommandLine.Command;

/** Parent of the benchmark subcommands ({@code gblm bench masks}, ...). Benchmarks are not tests. */
@Command(name = "bench", description = "Benchmarks.", mixinStandardHelpOptions = true,
        subcommands = {MasksBench.class, FinalizerBenchCommand.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        System.out.println("usage: gblm bench masks [options]  (see gblm bench masks --help)");
    }
}
