package dev.gblm.cli;

import dev.gblm.engine.ComputeDevice;
import dev.gblm.engine.LlamaModel;
import java.io.PrintWriter;
import picocli.CommandLine.Option;

/** {@code --device} of the commands that run a model ({@code @Mixin}). */
final class DeviceOption {
    @Option(names = "--device", defaultValue = "auto", completionCandidates = Choices.Devices.class,
            description = "${COMPLETION-CANDIDATES}: where weights, activations and statistics live; auto = the GPU "
                    + "when the PyTorch engine sees one, else the CPU (default: ${DEFAULT-VALUE})")
    String device;

    /** Makes it the process default for every model loaded afterwards and says on {@code err} what it chose. */
    void apply(PrintWriter err) {
        err.println("compute device: " + LlamaModel.setDefaultDevice(ComputeDevice.parse(device)));
        err.flush();
    }
}
