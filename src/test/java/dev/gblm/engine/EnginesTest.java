package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.gblm.GblmException;
import dev.gblm.bench.RandomCheckpoints;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class EnginesTest {
    @Test
    void offlineIsASettingPropertyFirstThenEnvironmentElseOn() {
        assertThat(Engines.offline(null, null)).isTrue();
        assertThat(Engines.offline(null, "false")).isFalse();
        assertThat(Engines.offline("false", "true")).isFalse();
        assertThat(Engines.offline("true", "false")).isTrue();
        assertThat(Engines.offline(" ", "false")).isFalse();
    }

    @Test
    void theRunningEngineHonoursTheProperty() {
        // surefire passes -Dai.djl.offline=true; init must keep what was given, not overwrite it
        assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
        assertThat(Engines.offline()).isTrue();
    }

    @Test
    void deviceNamesParse() {
        assertThat(ComputeDevice.parse("GPU")).isEqualTo(ComputeDevice.GPU);
        assertThat(ComputeDevice.parse("auto").toString()).isEqualTo("auto");
        assertThatThrownBy(() -> ComputeDevice.parse("cuda")).isInstanceOf(GblmException.class)
                .hasMessage("unknown --device 'cuda' (cpu, gpu or auto)");
    }

    @Test
    void everyTensorOfACallIsOnTheModelsDevice() {
        LlamaConfig cfg = new LlamaConfig(16, 40, 2, 4, 2, 50, 32, 1e-5, 10000, true, 1, 2, "float32");
        Checkpoint ck = RandomCheckpoints.uniform(cfg, 3);
        try (LlamaModel m = LlamaModel.load(ck, ComputeDevice.AUTO); NDManager scope = m.newScope()) {
            assertThat(m.device()).isEqualTo(ai.djl.Device.cpu()); // no GPU here: auto is the CPU
            NDArray h = m.embed(new int[] {1, 2, 3}, scope);
            NDArray out = m.layerForward(0, h, null);
            assertThat(out.getDevice()).isEqualTo(m.device());
            assertThat(m.forwardBackward(new int[] {1, 5, 7, 9}, null, null).count()).isEqualTo(3);
        }
    }
}
