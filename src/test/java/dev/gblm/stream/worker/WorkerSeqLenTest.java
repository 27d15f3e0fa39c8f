package dev.gblm.stream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.testing.GblmCli;
import dev.gblm.testing.StreamTestSupport;
import org.junit.jupiter.api.Test;

/**
 * A sequence length beyond the model's context is refused up front: accepted, it failed in the model on every long
 * sample and the worker died on the same record after each restart.
 */
class WorkerSeqLenTest {
    static final Checkpoint TINY = Checkpoints.load(StreamTestSupport.TINY); // max_position_embeddings 64

    static WorkerSettings settings(int seqLen) {
        return WorkerSettings.builder(KafkaSettings.of("127.0.0.1:9"), "w").seqLen(seqLen).build();
    }

    @Test
    void theWorkerRefusesASeqLenBeyondTheModelsContext() {
        try (GblmMetrics m = new GblmMetrics("worker")) {
            assertThatThrownBy(() -> new Worker(settings(65), TINY, null, m)).isInstanceOf(GblmException.class)
                    .hasMessage("--seq-len 65 exceeds the model's context of 64 tokens (max_position_embeddings): use at"
                            + " most 64, or 0 for the model's context");
            assertThat(m.health()).as("nothing registered").isEmpty();
        }
        assertThat(Worker.profileFor(settings(64), TINY).seqLen()).isEqualTo(64);
        assertThat(Worker.profileFor(settings(0), TINY).seqLen()).as("0 = the context").isEqualTo(64);
        try (GblmMetrics m = new GblmMetrics("worker"); Worker w = new Worker(settings(64), TINY, null, m)) {
            assertThat(w.profile().seqLen()).isEqualTo(64);
        }
    }

    @Test
    void gblmWorkerSaysSoInOneLineAndExits2BeforeConnecting() {
        // the bootstrap address is unreachable: the refusal must come before any connection attempt
        GblmCli.Run r = GblmCli.gblm("worker", "--model", StreamTestSupport.TINY.toString(), "--seq-len", "4096",
                "--bootstrap-servers", "127.0.0.1:9", "--worker-id", "w");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip()).isEqualTo("gblm: --seq-len 4096 exceeds the model's context of 64 tokens"
                + " (max_position_embeddings): use at most 64, or 0 for the model's context");
    }
}
