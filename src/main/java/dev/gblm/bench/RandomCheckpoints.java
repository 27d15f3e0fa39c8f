package dev.gblm.bench;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.TensorData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Generated LLaMA checkpoints and token documents for benchmarks and size tests: no file, any shape. */
public final class RandomCheckpoints {
    private RandomCheckpoints() {}

    /**
     * A random float32 LLaMA: matrix weights uniform in ±sqrt(3 / fan-in) (unit variance of each output at unit
     * input), norm weights 1. The same seed and config give the same weights.
     */
    public static Checkpoint uniform(LlamaConfig c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, TensorData> m = new LinkedHashMap<>();
        for (String name : Checkpoints.expectedNames(c)) {
            long[] shape = Checkpoints.expectedShape(c, name);
            float[] v = new float[(int) (shape.length == 1 ? shape[0] : shape[0] * shape[1])];
            if (shape.length == 1) {
                Arrays.fill(v, 1f);
            } else {
                float scale = (float) Math.sqrt(3.0 / shape[1]);
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
                }
            }
            m.put(name, TensorData.fromFloats(name, DType.F32, shape, v));
        }
        return new Checkpoint(c, m, null, Checkpoint.Format.HF_SAFETENSORS);
    }

    /**
     * {@code n} documents of exactly {@code len} tokens: BOS (1) first, then ids uniform in [3, vocab), so no
     * document contains a special token and every sample costs the same.
     */
    public static List<int[]> documents(SplittableRandom rnd, int n, int len, int vocab) {
        List<int[]> docs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] t = new int[len];
            t[0] = 1;
            for (int j = 1; j < len; j++) {
                t[j] = 3 + rnd.nextInt(vocab - 3);
            }
            docs.add(t);
        }
        return docs;
    }
}
