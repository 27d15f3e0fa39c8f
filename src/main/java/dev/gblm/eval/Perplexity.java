package dev.gblm.eval;

import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import java.util.List;

/** Token-weighted perplexity of a model over token sequences. */
public final class Perplexity {
    private Perplexity() {}

    /** Told after each sequence; how progress is shown (a terminal, a log) is the caller's business. */
    @FunctionalInterface
    public interface Listener {
        void sequenceDone(int done, int total, LossResult soFar);
    }

    /**
     * Hidden states of a lazy model's batch, in floats ({@code sum(T)·hidden}): 64 Mi floats = 256 MiB, the batch's
     * memory, against which each layer's weights are widened once per batch instead of once per sequence.
     */
    static final long BATCH_FLOATS = 64L << 20;

    /**
     * Sums NLL over all sequences; tells {@code listener} (may be null) after each one. A model whose weights are
     * widened per use (lazy) runs batches of sequences layer-major ({@link LlamaModel#losses}); the results are the
     * same as one sequence at a time.
     */
    public static LossResult evaluate(LlamaModel model, List<int[]> sequences, Listener listener) {
        LossResult total = new LossResult(0, 0);
        int i = 0;
        while (i < sequences.size()) {
            int end = model.isLazy() ? batchEnd(sequences, i, model.config().hiddenSize()) : i + 1;
            LossResult[] r = end == i + 1 ? new LossResult[] {model.loss(sequences.get(i))}
                    : model.losses(sequences.subList(i, end));
            for (LossResult x : r) {
                total = total.plus(x);
                i++;
                if (listener != null) {
                    listener.sequenceDone(i, sequences.size(), total);
                }
            }
        }
        return total;
    }

    /** The end of the batch starting at {@code from}: at least one sequence, at most {@link #BATCH_FLOATS}. */
    static int batchEnd(List<int[]> sequences, int from, int hidden) {
        long floats = 0;
        int end = from;
        while (end < sequences.size()) {
            floats += (long) sequences.get(end).length * hidden;
            if (end > from && floats > BATCH_FLOATS) {
                break;
            }
            end++;
        }
        return end;
    }
}
