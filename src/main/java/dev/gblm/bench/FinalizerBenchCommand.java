package dev.gblm.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm bench finalizer}. */
@Command(name = "finalizer", mixinStandardHelpOptions = true,
        description = "MB/s of partial statistics merged by the finalizer's block path (decode + merge) vs a plain arraycopy of the same bytes.")
public final class FinalizerBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Option(names = "--in", defaultValue = "4096", description = "columns of the module (default ${DEFAULT-VALUE}, LLaMA-7B up_proj)")
    int in;
    @Option(names = "--slices", defaultValue = "16", description = "per-slice records summed per block (default ${DEFAULT-VALUE})")
    int slices;
    @Option(names = "--seconds", defaultValue = "5", description = "measuring time in seconds, merge and copy rounds alternating (default ${DEFAULT-VALUE})")
    double seconds;

    @Override
    public Integer call() {
        spec.commandLine().getOut().println(FinalizerBench.run(in, slices, seconds).describe());
        return 0;
    }
}
