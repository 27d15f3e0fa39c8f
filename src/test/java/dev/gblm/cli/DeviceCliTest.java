package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.engine.ComputeDevice;
import dev.gblm.engine.LlamaModel;
import dev.gblm.testing.GblmCli;
import dev.gblm.testing.GblmCli.Run;
import dev.gblm.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --device} on a machine without a GPU (this one, CI): gpu is one clear line, auto runs on the CPU. */
class DeviceCliTest {
    @TempDir
    Path dir;

    @AfterEach
    void restoreDefault() {
        LlamaModel.setDefaultDevice(ComputeDevice.AUTO); // process-wide: later tests in this JVM see the default
    }

    private static Run run(String... args) {
        return GblmCli.gblmWithSystemStreams(args);
    }

    private Path text() throws Exception {
        Path t = dir.resolve("t.txt");
        Files.writeString(t, "Once upon a time there was a cat.\n\nThe cat liked milk.\n\n");
        return t;
    }

    private static String model() {
        return TestData.require("models/stories260K.bin").toString();
    }

    @Test
    void gpuWithoutACudaNativeIsOneLine() throws Exception {
        Run r = run("eval", "--model", model(), "--text", text().toString(), "--device", "gpu");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).doesNotContain("\tat ").doesNotContain("Exception");
        List<String> lines = r.err().lines().map(String::strip).filter(l -> l.startsWith("gblm:")).toList();
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).contains("--device gpu").contains("no CUDA device").contains("CPU-only build")
                .contains("PYTORCH_LIBRARY_PATH").contains("How to run on a GPU");
    }

    @Test
    void autoRunsOnTheCpuHereAndSaysSo() throws Exception {
        Run r = run("eval", "--model", model(), "--text", text().toString(), "--device", "auto", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("compute device: auto -> cpu (no GPU visible to the engine)");
        assertThat(r.out()).contains("perplexity");
    }

    @Test
    void cpuIsSaidAsIs() throws Exception {
        Run r = run("eval", "--model", model(), "--text", text().toString(), "--device", "cpu", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("compute device: cpu");
    }

    @Test
    void unknownDeviceIsOneLine() throws Exception {
        Run r = run("eval", "--model", model(), "--text", text().toString(), "--device", "tpu");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("gblm: unknown --device 'tpu' (cpu, gpu or auto)").doesNotContain("\tat ");
    }

    @Test
    void benchEngineRefusesGpuInOneLine() {
        Run r = run("bench", "engine", "--device", "gpu", "--samples", "1");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("gblm: --device gpu: the PyTorch engine sees no CUDA device")
                .doesNotContain("\tat ");
    }
}
