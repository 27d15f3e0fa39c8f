package dev.gblm.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.bench.RandomCheckpoints;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import dev.gblm.engine.WeightResidency;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.LlamaConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Perplexity of a lazy model, which runs batches of sequences layer-major (each layer's weights widened once per
 * batch), equals the eager model's sequence-at-a-time result exactly, and still reports progress per sequence.
 */
class PerplexityBatchTest {
    @Test
    void lazyBatchesEqualEagerSequencesAndReportEverySequence() {
        LlamaConfig cfg = new LlamaConfig(32, 64, 2, 4, 2, 50, 64, 1e-5, 10000, false, 1, 2, "float32");
        Checkpoint ckpt = RandomCheckpoints.uniform(cfg, 5);
        List<int[]> seqs = RandomCheckpoints.documents(new SplittableRandom(2), 5, 40, cfg.vocabSize());
        List<Integer> seen = new ArrayList<>();
        try (LlamaModel eager = LlamaModel.load(ckpt, WeightResidency.EAGER);
                LlamaModel lazy = LlamaModel.load(ckpt, WeightResidency.LAZY)) {
            LossResult a = Perplexity.evaluate(eager, seqs, null);
            LossResult b = Perplexity.evaluate(lazy, seqs, (done, total, soFar) -> seen.add(done));
            assertThat(b).isEqualTo(a);
        }
        assertThat(seen).containsExactly(1, 2, 3, 4, 5);
    }

    @Test
    void aBatchHoldsAtLeastOneSequenceAndStaysWithinItsBudget() {
        int hidden = 4096;
        int[] longSeq = new int[(int) (Perplexity.BATCH_FLOATS / hidden)];
        List<int[]> seqs = List.of(new int[10], longSeq, new int[10], new int[10]);
        assertThat(Perplexity.batchEnd(seqs, 0, hidden)).isEqualTo(1);
        assertThat(Perplexity.batchEnd(seqs, 1, hidden)).isEqualTo(2);
        assertThat(Perplexity.batchEnd(seqs, 2, hidden)).isEqualTo(4);
    }
}
