package dev.gblm.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Parent of the benchmark commands ({@code gblm bench engine}, {@code gblm bench masks}, ...). Benchmarks are not tests. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmarks (not tests): each reports ratios measured in one run.",
        subcommands = {
            EngineBench.class,
            MasksBench.class,
            FinalizerBenchCommand.class,
            WorkersBench.class,
            PruneBench.class,
            PipelineBench.class,
            EpochsBench.class,
            FaultInjectionCommand.class,
            RandomCheckpointCommand.class,
            Bf16Probe.class,
            CheckpointPruneBench.class,
        })
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
