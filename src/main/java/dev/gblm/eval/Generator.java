package dev.gblm.eval;

import dev.gblm.engine.LlamaModel;
import dev.gblm.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Random;
import java.util.function.IntConsumer;

/** Text generation: greedy (temperature 0) or sampling from softmax(logits / temperature). */
public final class Generator {
    private final LlamaModel model;
    private final Tokenizer tok;

    public Generator(LlamaModel model, Tokenizer tok) {
        this.model = model;
        this.tok = tok;
    }

    /** Prompt plus up to {@code maxNew} generated tokens, decoded; stops at EOS/BOS or the context. */
    public String generate(String prompt, int maxNew, double temperature, long seed) {
        return tok.decode(generateIds(prompt, maxNew, temperature, seed, null));
    }

    /** All ids, starting with BOS and the prompt's; {@code onToken} sees each new id as it comes. */
    public int[] generateIds(String prompt, int maxNew, double temperature, long seed, IntConsumer onToken) {
        int[] enc = tok.encode(prompt);
        int[] ids = new int[enc.length + 1 + maxNew];
        ids[0] = tok.bosId();
        System.arraycopy(enc, 0, ids, 1, enc.length);
        int n = enc.length + 1;
        Random rnd = new Random(seed);
        int context = model.config().maxSequenceLength(); // the sliding window when shorter
        for (int i = 0; i < maxNew && n < context; i++) {
            float[] logits = model.nextTokenLogits(Arrays.copyOf(ids, n));
            int next = temperature <= 0 ? argmax(logits) : sample(logits, temperature, rnd);
            if (next == tok.eosId() || next == tok.bosId() || model.config().eosTokens().contains(next)) {
                break;
            }
            ids[n++] = next;
            if (onToken != null) {
                onToken.accept(next);
            }
        }
        return Arrays.copyOf(ids, n);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    static int sample(float[] logits, double temperature, Random rnd) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp((logits[i] - max) / temperature);
            sum += p[i];
        }
        double r = rnd.nextDouble() * sum;
        for (int i = 0; i < p.length; i++) {
            r -= p[i];
            if (r <= 0) {
                return i;
            }
        }
        return p.length - 1;
    }
}
