package dev.gblm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.bench.Bf16Probe.Outcome;
import dev.gblm.bench.Bf16Probe.Probe;
import dev.gblm.engine.ComputeDevice;
import org.junit.jupiter.api.Test;

/**
 * Pins what DJL 0.36 + PyTorch 2.7.1 (CPU) do with 16-bit tensors, each probe in a child JVM so an abort cannot end
 * this test run. If a DJL upgrade makes a BFLOAT16 probe pass, this fails on purpose: bf16 compute becomes possible
 * and docs/engine.md ("bf16 compute") must be revisited.
 */
class Bf16ProbeTest {
    @Test
    void everyWayToMakeABf16TensorAbortsTheJvmWhileFloat16Works() throws Exception {
        for (Probe p : Probe.values()) {
            Outcome o = Bf16Probe.run(p, ComputeDevice.CPU);
            if (p == Probe.TO_TYPE_F16_MATMUL) {
                assertThat(o.ok()).as(o.toString()).isTrue();
                assertThat(o.lastLine()).isEqualTo("OK float16 [8.25, 11.0, 16.5, 22.0]");
            } else {
                assertThat(o.exitCode()).as(o.toString()).isEqualTo(134); // SIGABRT from std::terminate
                assertThat(o.lastLine()).isEqualTo("terminate called without an active exception");
            }
        }
    }
}
