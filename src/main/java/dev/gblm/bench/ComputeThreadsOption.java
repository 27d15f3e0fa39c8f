package dev.gblm.bench;

import dev.gblm.engine.ComputeDevice;
import dev.gblm.engine.LlamaModel;
import picocli.CommandLine.Option;

/** {@code --threads} and {@code --device} of the in-process benchmarks ({@code @Mixin}). */
final class ComputeThreadsOption {
    @Option(names = "--threads", description = "PyTorch intra-op threads (default: PyTorch's own)")
    Integer threads;

    @Option(names = "--device", defaultValue = "auto", description = "cpu, gpu or auto: where the model runs; auto = "
            + "the GPU when the PyTorch engine sees one, else the CPU (default: ${DEFAULT-VALUE})")
    String device;

    /** Sets the process-wide thread count when one was given, and the device of the models loaded afterwards. */
    void apply() {
        if (threads != null) {
            LlamaModel.setComputeThreads(threads);
        }
        System.err.println("compute device: " + LlamaModel.setDefaultDevice(ComputeDevice.parse(device)));
    }

    /** For the report: the count given, or "default". */
    String describe() {
        return threads == null ? "default" : threads.toString();
    }
}
