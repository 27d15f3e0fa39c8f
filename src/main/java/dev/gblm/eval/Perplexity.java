package dev.gblm.eval;

import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import java.io.PrintStream;
import java.util.List;

/** Token-weighted perplexity of a model over token sequences. */
public final class Perplexity {
    private Perplexity() {}

    /** Sums NLL over all sequences; prints progress to {@code progress} (may be null). */
    public static LossResult evaluate(LlamaModel model, List<int[]> sequences, PrintStream progress) {
        LossResult total = new LossResult(0, 0);
        long start = System.nanoTime();
        long lastReport = start;
        for (int i = 0; i < sequences.size(); i++) {
            total = total.plus(model.loss(sequences.get(i)));
            long now = System.nanoTime();
            if (progress != null && (now - lastReport > 2_000_000_000L || i == sequences.size() - 1)
                    && sequences.size() > 1) {
                lastReport = now;
                progress.printf("\reval %d/%d sequences, %d tokens, ppl %.4f, %.1fs", i + 1, sequences.size(),
                        total.count(), total.perplexity(), (now - start) / 1e9);
                if (i == sequences.size() - 1) {
                    progress.println();
                }
                progress.flush();
            }
        }
        return total;
    }
}
