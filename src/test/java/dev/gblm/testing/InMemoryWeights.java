package dev.gblm.testing;

import dev.gblm.model.LinearKind;
import dev.gblm.stream.finalizer.DenseWeights;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;

/** Weights held in memory, one {@code float[out*in]} per module: random models for tests and benchmarks. */
public final class InMemoryWeights implements DenseWeights {
    private final Map<LinearKind, float[]>[] layers;
    private final Map<LinearKind, int[]> shapes;

    @SuppressWarnings("unchecked")
    private InMemoryWeights(int numLayers, Map<LinearKind, int[]> shapes) {
        this.layers = new Map[numLayers];
        this.shapes = shapes;
    }

    /** A LLaMA-shaped random model: q,k,v,o {@code [hidden, hidden]}, gate,up {@code [intermediate, hidden]}, down {@code [hidden, intermediate]}; N(0,1) weights. */
    public static InMemoryWeights randomLlama(int numLayers, int hidden, int intermediate, long seed) {
        Map<LinearKind, int[]> shapes = new EnumMap<>(LinearKind.class);
        for (LinearKind k : LinearKind.values()) {
            boolean up = k == LinearKind.GATE_PROJ || k == LinearKind.UP_PROJ;
            shapes.put(k, k == LinearKind.DOWN_PROJ ? new int[] {hidden, intermediate}
                    : up ? new int[] {intermediate, hidden} : new int[] {hidden, hidden});
        }
        InMemoryWeights w = new InMemoryWeights(numLayers, shapes);
        Random rnd = new Random(seed);
        for (int l = 0; l < numLayers; l++) {
            Map<LinearKind, float[]> m = new EnumMap<>(LinearKind.class);
            for (LinearKind k : LinearKind.values()) {
                int[] s = shapes.get(k);
                float[] a = new float[s[0] * s[1]];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) rnd.nextGaussian();
                }
                m.put(k, a);
            }
            w.layers[l] = m;
        }
        return w;
    }

    /** The whole matrix (not a copy). */
    public float[] matrix(int layer, LinearKind k) {
        return layers[layer].get(k);
    }

    @Override
    public float[] rows(int layer, LinearKind k, int rowStart, int rowEnd) {
        int in = shapes.get(k)[1];
        return Arrays.copyOfRange(matrix(layer, k), rowStart * in, rowEnd * in);
    }

    @Override
    public int[] shape(int layer, LinearKind k) {
        if (layer < 0 || layer >= layers.length) {
            throw new IllegalArgumentException("no layer " + layer);
        }
        return shapes.get(k).clone();
    }

    @Override
    public int numLayers() {
        return layers.length;
    }
}
