package dev.gblm.bench;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.SafetensorsWriter;
import dev.gblm.model.TensorData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;

/**
 * Generated LLaMA checkpoints and token documents for benchmarks and size tests, any shape: in memory
 * ({@link #uniform}) or streamed to disk ({@link #write}).
 */
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

    /** Elements generated and encoded at a time when streaming a tensor to disk (16 MiB of float32). */
    private static final int STREAM_BLOCK = 4 << 20;

    /**
     * The tensors of a random LLaMA in {@code dtype}, as writer entries that generate their bytes only when written,
     * a block of rows at a time: a checkpoint of any size streams to disk in bounded memory. Matrix weights uniform
     * in ±sqrt(3 / fan-in), norm weights 1; tensor {@code i} draws from its own generator seeded by
     * {@code (seed, i)}, so the values do not depend on the block size (they differ from {@link #uniform}'s).
     */
    public static List<SafetensorsWriter.Entry> streamed(LlamaConfig c, DType dtype, long seed) {
        return streamed(c, dtype, seed, STREAM_BLOCK);
    }

    /** As {@link #streamed(LlamaConfig, DType, long)}, generating about {@code blockElements} at a time. */
    static List<SafetensorsWriter.Entry> streamed(LlamaConfig c, DType dtype, long seed, int blockElements) {
        List<SafetensorsWriter.Entry> out = new ArrayList<>();
        List<String> names = Checkpoints.expectedNames(c);
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            long[] shape = Checkpoints.expectedShape(c, name);
            long tensorSeed = seed ^ (0x9E3779B97F4A7C15L * (i + 1)); // SplittableRandom mixes it
            out.add(new SafetensorsWriter.Entry(name, dtype, shape, () -> blocks(name, dtype, shape, tensorSeed, blockElements)));
        }
        return out;
    }

    private static Iterable<ByteBuffer> blocks(String name, DType dtype, long[] shape, long seed, int blockElements) {
        long rows = shape[0];
        long cols = shape.length == 1 ? 1 : shape[1];
        long blockRows = Math.max(1, blockElements / cols);
        float scale = shape.length == 1 ? 0f : (float) Math.sqrt(3.0 / cols);
        return () -> new Iterator<>() {
            private final SplittableRandom rnd = new SplittableRandom(seed);
            private long row;

            @Override
            public boolean hasNext() {
                return row < rows;
            }

            @Override
            public ByteBuffer next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                long n = Math.min(blockRows, rows - row);
                float[] v = new float[Math.toIntExact(n * cols)];
                if (shape.length == 1) {
                    Arrays.fill(v, 1f);
                } else {
                    for (int i = 0; i < v.length; i++) {
                        v[i] = (float) ((rnd.nextDouble() * 2 - 1) * scale);
                    }
                }
                row += n;
                long[] bs = shape.length == 1 ? new long[] {n} : new long[] {n, cols};
                return TensorData.fromFloats(name, dtype, bs, v).bytes();
            }
        };
    }

    /**
     * Writes a random checkpoint ({@link #streamed}) to {@code dir} as Hugging Face does: {@code config.json} (torch
     * dtype set to {@code dtype}) and safetensors shards of at most {@code maxShardBytes} with an index, or one
     * {@code model.safetensors} when everything fits one shard. Returns the weight files written.
     */
    public static List<String> write(LlamaConfig c, DType dtype, long seed, Path dir, long maxShardBytes) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        c.withTorchDtype(dtype.torchName()).write(dir.resolve("config.json"));
        return SafetensorsWriter.writeSharded(dir, streamed(c, dtype, seed), maxShardBytes);
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
