package dev.gblm.bench;

import picocli.CommandLine.Command;

/** Parent of the benchmark commands ({@code gblm bench engine}, ...). */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks (not tests).",
        subcommands = {EngineBench.class, PruneBench.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }
}
