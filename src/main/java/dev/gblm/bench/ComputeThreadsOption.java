package dev.gblm.bench;

import dev.gblm.engine.LlamaModel;
import picocli.CommandLine.Option;

/** {@code --threads} of the in-process benchmarks ({@code @Mixin}). */
final class ComputeThreadsOption {
    @Option(names = "--threads", description = "PyTorch intra-op threads (default: PyTorch's own)")
    Integer threads;

    /** Sets the process-wide thread count when one was given. */
    void apply() {
        if (threads != null) {
            LlamaModel.setComputeThreads(threads);
        }
    }

    /** For the report: the count given, or "default". */
    String describe() {
        return threads == null ? "default" : threads.toString();
    }
}
