package dev.gblm.engine;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.RopeScaling;
import dev.gblm.model.TensorData;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * An independent float64 LLaMA forward in plain Java, written straight from the math (no DJL, no
 * shared code with the engine besides the config record), used as the reference for logits and,
 * through central finite differences, for gradients. Supports both rotary layouts: Hugging Face
 * rotate_half and llama2.c's interleaved pairs, so a llama2.c file can be checked on its own terms.
 */
final class RefLlama {
    final LlamaConfig c;
    final Map<String, double[]> w = new HashMap<>();
    final boolean interleavedRope;

    RefLlama(LlamaConfig c, boolean interleavedRope) {
        this.c = c;
        this.interleavedRope = interleavedRope;
    }

    /** Random weights (as float32 values, so the engine sees exactly the same numbers). */
    static RefLlama random(LlamaConfig c, long seed, boolean interleavedRope) {
        RefLlama r = new RefLlama(c, interleavedRope);
        Random rnd = new Random(seed);
        for (String n : Checkpoints.expectedNames(c)) {
            long[] shape = Checkpoints.expectedShape(c, n);
            double[] v = new double[(int) TensorData.numel(shape)];
            boolean norm = shape.length == 1;
            double scale = norm ? 0.2 : 1.0 / Math.sqrt(shape[1]);
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((norm ? 1.0 : 0.0) + scale * rnd.nextGaussian() * (n.contains("embed") ? 2 : 1));
            }
            r.w.put(n, v);
        }
        return r;
    }

    /** The weights as a checkpoint in {@code dtype} (HF layout; only valid when not interleaved). */
    Checkpoint toCheckpoint(DType dtype) {
        Map<String, TensorData> m = new java.util.LinkedHashMap<>();
        for (String n : Checkpoints.expectedNames(c)) {
            double[] v = w.get(n);
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                f[i] = (float) v[i];
            }
            m.put(n, TensorData.fromFloats(n, dtype, Checkpoints.expectedShape(c, n), f));
        }
        return new Checkpoint(c.withTorchDtype(dtype.torchName()), m, null, Checkpoint.Format.HF_SAFETENSORS);
    }

    /** Logits [T][vocab]. */
    double[][] logits(int[] tokens) {
        int T = tokens.length;
        int d = c.hiddenSize();
        double[][] x = new double[T][];
        double[] emb = w.get(Checkpoints.EMBED);
        for (int t = 0; t < T; t++) {
            x[t] = java.util.Arrays.copyOfRange(emb, tokens[t] * d, (tokens[t] + 1) * d);
        }
        for (int l = 0; l < c.numLayers(); l++) {
            x = layer(l, x);
        }
        double[] head = w.get(c.tieWordEmbeddings() ? Checkpoints.EMBED : Checkpoints.LM_HEAD);
        double[][] out = new double[T][];
        for (int t = 0; t < T; t++) {
            out[t] = matVec(head, c.vocabSize(), d, rms(x[t], w.get(Checkpoints.FINAL_NORM)));
        }
        return out;
    }

    /** Mean next-token cross-entropy. */
    double meanLoss(int[] tokens) {
        double[][] lg = logits(tokens);
        double sum = 0;
        for (int t = 0; t + 1 < tokens.length; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (double v : lg[t]) {
                max = Math.max(max, v);
            }
            double z = 0;
            for (double v : lg[t]) {
                z += Math.exp(v - max);
            }
            sum += max + Math.log(z) - lg[t][tokens[t + 1]];
        }
        return sum / (tokens.length - 1);
    }

    private double[][] layer(int l, double[][] x) {
        int T = x.length;
        int d = c.hiddenSize();
        int H = c.numHeads();
        int hd = c.headDim();
        int kvd = c.kvDim();
        int rep = H / c.numKvHeads();
        double[][] q = new double[T][];
        double[][] k = new double[T][];
        double[][] v = new double[T][];
        for (int t = 0; t < T; t++) {
            double[] h = rms(x[t], w.get(Checkpoints.inputNorm(l)));
            q[t] = rope(matVec(w.get(LinearKind.Q_PROJ.weightName(l)), H * hd, d, h), t, H);
            k[t] = rope(matVec(w.get(LinearKind.K_PROJ.weightName(l)), kvd, d, h), t, c.numKvHeads());
            v[t] = matVec(w.get(LinearKind.V_PROJ.weightName(l)), kvd, d, h);
        }
        double[][] out = new double[T][];
        for (int t = 0; t < T; t++) {
            double[] o = new double[H * hd];
            for (int head = 0; head < H; head++) {
                int kvh = head / rep;
                double[] s = new double[t + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= t; j++) {
                    double dot = 0;
                    for (int i = 0; i < hd; i++) {
                        dot += q[t][head * hd + i] * k[j][kvh * hd + i];
                    }
                    s[j] = dot / Math.sqrt(hd);
                    max = Math.max(max, s[j]);
                }
                double z = 0;
                for (int j = 0; j <= t; j++) {
                    s[j] = Math.exp(s[j] - max);
                    z += s[j];
                }
                for (int j = 0; j <= t; j++) {
                    for (int i = 0; i < hd; i++) {
                        o[head * hd + i] += s[j] / z * v[j][kvh * hd + i];
                    }
                }
            }
            double[] xa = add(x[t], matVec(w.get(LinearKind.O_PROJ.weightName(l)), d, H * hd, o));
            double[] h2 = rms(xa, w.get(Checkpoints.postAttentionNorm(l)));
            int ff = c.intermediateSize();
            double[] g = matVec(w.get(LinearKind.GATE_PROJ.weightName(l)), ff, d, h2);
            double[] u = matVec(w.get(LinearKind.UP_PROJ.weightName(l)), ff, d, h2);
            double[] a = new double[ff];
            for (int i = 0; i < ff; i++) {
                a[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
            }
            out[t] = add(xa, matVec(w.get(LinearKind.DOWN_PROJ.weightName(l)), d, ff, a));
        }
        return out;
    }

    private double[] rope(double[] v, int pos, int heads) {
        int hd = c.headDim();
        int half = hd / 2;
        double[] r = v.clone();
        for (int h = 0; h < heads; h++) {
            int b = h * hd;
            for (int i = 0; i < half; i++) {
                double ang = pos * frequency(i);
                double cs = Math.cos(ang);
                double sn = Math.sin(ang);
                int a1 = interleavedRope ? b + 2 * i : b + i;
                int a2 = interleavedRope ? b + 2 * i + 1 : b + half + i;
                r[a1] = v[a1] * cs - v[a2] * sn;
                r[a2] = v[a2] * cs + v[a1] * sn;
            }
        }
        return r;
    }

    /**
     * The rotary angular frequency of pair {@code i}, written from the published rules (not from the engine): plain
     * theta^(-2i/d); linear divides it by the factor; llama3 (Llama 3.1) leaves pairs whose wavelength 2 pi / f is
     * shorter than original / high_freq_factor alone, divides those longer than original / low_freq_factor by the
     * factor, and in between interpolates linearly in original / wavelength between the two.
     */
    double frequency(int i) {
        double f = Math.pow(c.ropeTheta(), -2.0 * i / c.headDim());
        RopeScaling rs = c.ropeScaling();
        if (rs == null || rs.type() == RopeScaling.Type.DYNAMIC) {
            return f;
        }
        if (rs.type() == RopeScaling.Type.LINEAR) {
            return f / rs.factor();
        }
        double ratio = rs.originalMaxPositionEmbeddings() * f / (2 * Math.PI); // original / wavelength
        if (ratio >= rs.highFreqFactor()) {
            return f;
        }
        if (ratio <= rs.lowFreqFactor()) {
            return f / rs.factor();
        }
        double smooth = (ratio - rs.lowFreqFactor()) / (rs.highFreqFactor() - rs.lowFreqFactor());
        return smooth * f + (1 - smooth) * f / rs.factor();
    }

    private double[] rms(double[] x, double[] g) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double s = 1 / Math.sqrt(ss / x.length + c.rmsNormEps());
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = x[i] * s * g[i];
        }
        return r;
    }

    private static double[] matVec(double[] m, int rows, int cols, double[] x) {
        double[] r = new double[rows];
        for (int i = 0; i < rows; i++) {
            double s = 0;
            int base = i * cols;
            for (int j = 0; j < cols; j++) {
                s += m[base + j] * x[j];
            }
            r[i] = s;
        }
        return r;
    }

    private static double[] add(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] + b[i];
        }
        return r;
    }
}
