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

    /** Sums NLL over all sequences; tells {@code listener} (may be null) after each one. */
    public static LossResult evaluate(LlamaModel model, List<int[]> sequences, Listener listener) {
        LossResult total = new LossResult(0, 0);
        for (int i = 0; i < sequences.size(); i++) {
            total = total.plus(model.loss(sequences.get(i)));
            if (listener != null) {
                listener.sequenceDone(i + 1, sequences.size(), total);
            }
        }
        return total;
    }
}
