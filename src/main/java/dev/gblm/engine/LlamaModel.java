package dev.gblm.engine;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Embedding;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.TensorData;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LLaMA-family decoder on DJL NDArrays (PyTorch engine, float32 compute) on one device ({@link ComputeDevice}:
 * the process default set by {@link #setDefaultDevice}, {@code auto} unless told otherwise).
 * Rotary embeddings use the Hugging Face {@code rotate_half} layout only: llama2.c checkpoints are
 * permuted on load (see {@link Checkpoints}).
 *
 * <p>Memory discipline: weights live in this model's manager; every per-call intermediate is created
 * in a sub-manager closed at the end of the call. Every op's result joins the manager of its first
 * operand, so computations always start from an activation, never from a weight. Never use DJL's
 * {@code op(Number)} overloads on a tensor that is differentiated: see {@link #scalar}.
 */
public final class LlamaModel implements AutoCloseable {
    private final LlamaConfig cfg;
    private final Checkpoint source;
    private final NDManager manager;
    /** The embedding as an engine tensor when it doubles as the (tied) head; null when rows are read per call. */
    private final NDArray embed;
    /** The stored embedding (memory-mapped), read row by row per call when the head is untied. */
    private final TensorData embedRows;
    private final NDArray lmHead;
    private final NDArray finalNorm;
    private final NDArray[] inNorm;
    private final NDArray[] postNorm;
    /** Eager: the model's float32 linear weights; lazy: null (see {@link WeightResidency}). */
    private final NDArray[][] linear;
    private final boolean lazy;
    /**
     * Lazy edits of the stored weights: {@code zeroed[l][k]} marks (one bit per element) entries set to zero, the
     * only edit pruning makes; any other edit keeps the whole float32 weight in {@code replaced[l][k]}.
     */
    private final long[][][] zeroed;
    private final float[][][] replaced;
    private final float[] ropeInvFreq;
    private final float normEps;

    /**
     * DJL's PyTorch {@link GradientCollector} is process-wide: a second one opened while one is collecting throws
     * ("Only one can be collecting at a time"). {@link #forwardBackward} is the only place gblm opens one, so it
     * takes this lock: several models (workers sharing a process, tests) may then differentiate from any threads,
     * one at a time. Loading, forward-only calls and closing need no lock (DJL's managers are thread-safe and no
     * collector is involved).
     */
    static final Object GRADIENT_LOCK = new Object();

    /** The device of models loaded without one ({@code --device}); process-wide like the thread count. */
    private static volatile ComputeDevice defaultDevice = ComputeDevice.AUTO;

    private LlamaModel(Checkpoint ckpt, ComputeDevice where, WeightResidency residency) {
        Device device = Engines.device(where);
        this.cfg = ckpt.config();
        this.source = ckpt;
        this.lazy = residency.resolve(ckpt) == WeightResidency.LAZY;
        this.manager = NDManager.newBaseManager(device, "PyTorch");
        int L = cfg.numLayers();
        try {
            embedRows = ckpt.tensor(Checkpoints.EMBED);
            embed = cfg.tieWordEmbeddings() ? load(embedRows) : null;
            lmHead = cfg.tieWordEmbeddings() ? embed : load(ckpt.tensor(Checkpoints.LM_HEAD));
            finalNorm = load(ckpt.tensor(Checkpoints.FINAL_NORM));
            inNorm = new NDArray[L];
            postNorm = new NDArray[L];
            linear = lazy ? null : new NDArray[L][LinearKind.values().length];
            zeroed = lazy ? new long[L][LinearKind.values().length][] : null;
            replaced = lazy ? new float[L][LinearKind.values().length][] : null;
            for (int l = 0; l < L; l++) {
                inNorm[l] = load(ckpt.tensor(Checkpoints.inputNorm(l)));
                postNorm[l] = load(ckpt.tensor(Checkpoints.postAttentionNorm(l)));
                for (LinearKind k : LinearKind.values()) {
                    if (lazy) {
                        ckpt.tensor(k.weightName(l)); // present: refused at load, not at first use
                        continue;
                    }
                    NDArray w = load(ckpt.tensor(k.weightName(l)));
                    w.setRequiresGradient(true);
                    linear[l][k.ordinal()] = w;
                }
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        ropeInvFreq = cfg.ropeInverseFrequencies();
        normEps = (float) cfg.rmsNormEps();
    }

    /**
     * {@code ckpt} on the {@linkplain #setDefaultDevice default device}, with {@link WeightResidency#AUTO}: layer
     * weights stay lazy when their float32 form would be large.
     */
    public static LlamaModel load(Checkpoint ckpt) {
        return new LlamaModel(ckpt, defaultDevice, WeightResidency.AUTO);
    }

    /** {@code ckpt} on {@code device}; GPU without a usable CUDA native is one line ({@link GblmException}). */
    public static LlamaModel load(Checkpoint ckpt, ComputeDevice device) {
        return new LlamaModel(ckpt, device, WeightResidency.AUTO);
    }

    /** {@code ckpt} on the default device with the given weight residency. */
    public static LlamaModel load(Checkpoint ckpt, WeightResidency residency) {
        return new LlamaModel(ckpt, defaultDevice, residency);
    }

    /** True when the layer weights are widened per call ({@link WeightResidency#LAZY}). */
    public boolean isLazy() {
        return lazy;
    }
    /**
     * Sets the device of every model loaded afterwards without an explicit one (process-wide, like
     * {@link #setComputeThreads}): the commands set it once from {@code --device}, so code that loads models on
     * their behalf (the worker, the held-out evaluator) follows. Checks it now, so a GPU that is not there is
     * refused before any work starts.
     *
     * @return for the log: what it resolved to ({@link Engines#describe})
     */
    public static String setDefaultDevice(ComputeDevice device) {
        Device d = Engines.device(device);
        defaultDevice = device;
        return Engines.describe(device, d);
    }

    public static ComputeDevice defaultDevice() {
        return defaultDevice;
    }

    /** The DJL device this model's tensors live on. */
    public Device device() {
        return manager.getDevice();
    }

    public LlamaConfig config() {
        return cfg;
    }

    public Checkpoint source() {
        return source;
    }

    /** Sets PyTorch's intra-op thread count (process-wide). */
    public static void setComputeThreads(int n) {
        Engines.init();
        JniUtils.setNumThreads(n);
    }

    private NDArray load(TensorData t) {
        return widen(manager, t, WIDEN_BLOCK_FLOATS);
    }

    /** Floats widened per block when a weight becomes an engine tensor: 64 MiB of direct memory at a time. */
    static final int WIDEN_BLOCK_FLOATS = 16 << 20;

    /**
     * A stored tensor as a float32 engine tensor in {@code m} whose memory PyTorch owns. Widening happens in Java
     * (BF16 as a 16-bit shift; DJL's BFLOAT16 tensors abort the JVM), row block by row block of at most
     * {@code blockFloats} floats, each straight into a direct buffer and copied into one PyTorch tensor (then
     * dropped). So neither the Java heap nor Java's direct-memory limit ever holds more than a block, a tensor over
     * 2 GiB (which DJL cannot create from one buffer) loads, and no engine tensor aliases a read-only memory map.
     */
    static NDArray widen(NDManager m, TensorData t, int blockFloats) {
        return widen(m, t, blockFloats, null);
    }

    /** {@link #widen(NDManager, TensorData, int)} with the elements whose bit is set in {@code zeroBits} zeroed. */
    private static NDArray widen(NDManager m, TensorData t, int blockFloats, long[] zeroBits) {
        long[] s = t.shape();
        long rows = s.length == 0 ? 1 : s[0];
        long rowLen = rows == 0 ? 0 : t.numel() / rows;
        long blockRows = Math.max(1, Math.min(rows, blockFloats / Math.max(1, rowLen)));
        if (blockRows >= rows) {
            try (NDArray block = block(m, t, s, 0, rows, rowLen, zeroBits)) {
                return block.duplicate();
            }
        }
        // filled block by block: only the result and one block exist at a time
        NDArray out = m.zeros(new Shape(s), DataType.FLOAT32);
        for (long r = 0; r < rows; r += blockRows) {
            long n = Math.min(blockRows, rows - r);
            try (NDArray block = block(m, t, s, r, n, rowLen, zeroBits)) {
                out.set(new NDIndex(r + ":" + (r + n)), block);
            }
        }
        return out;
    }

    /** Rows {@code [r, r + n)} of {@code t} widened into a direct buffer, as an engine tensor over that buffer. */
    private static NDArray block(NDManager m, TensorData t, long[] shape, long r, long n, long rowLen,
            long[] zeroBits) {
        long[] bs = shape.clone();
        if (bs.length > 0) {
            bs[0] = n;
        }
        ByteBuffer buf = m.allocateDirect(Math.toIntExact(n * rowLen * Float.BYTES));
        FloatBuffer fb = buf.asFloatBuffer();
        t.widenInto(r * rowLen, (int) (n * rowLen), fb);
        if (zeroBits != null) {
            long first = r * rowLen;
            long end = first + n * rowLen;
            for (long i = nextSet(zeroBits, first); i >= 0 && i < end; i = nextSet(zeroBits, i + 1)) {
                fb.put((int) (i - first), 0f);
            }
        }
        return m.create(buf, new Shape(bs), DataType.FLOAT32);
    }

    /** The first set bit at or after {@code from}, or -1. */
    private static long nextSet(long[] bits, long from) {
        int w = (int) (from >>> 6);
        if (w >= bits.length) {
            return -1;
        }
        long word = bits[w] & (-1L << (from & 63));
        while (word == 0) {
            if (++w == bits.length) {
                return -1;
            }
            word = bits[w];
        }
        return ((long) w << 6) + Long.numberOfTrailingZeros(word);
    }

    /**
     * The seven linear weights of layer {@code l} as float32 engine tensors: the model's own when eager (read, never
     * close), else widened from the checkpoint (with the model's edits) into {@code scope}, freed with it.
     */
    NDArray[] layerWeights(int l, NDManager scope) {
        if (!lazy) {
            return linear[l];
        }
        NDArray[] w = new NDArray[LinearKind.values().length];
        noGrad(() -> {
            for (LinearKind k : LinearKind.values()) {
                w[k.ordinal()] = widenModule(l, k, scope);
            }
            return null;
        });
        return w;
    }

    private NDArray widenModule(int l, LinearKind k, NDManager m) {
        TensorData t = source.tensor(k.weightName(l));
        float[] r = replaced[l][k.ordinal()];
        if (r != null) {
            try (NDArray a = m.create(r, new Shape(t.shape()))) {
                return a.duplicate(); // PyTorch-owned: no tensor outlives its Java buffer
            }
        }
        return widen(m, t, WIDEN_BLOCK_FLOATS, zeroed[l][k.ordinal()]);
    }

    /** Embedding and every decoder layer: the hidden states [tokens, hidden] before the final norm, in {@code m}. */
    private NDArray hidden(int[] tokens, NDManager m, ActivationObserver acts) {
        NDArray h = embed(tokens, m);
        NDArray[] pos = positions(m, tokens.length);
        for (int l = 0; l < cfg.numLayers(); l++) {
            h = layer(l, h, acts, pos);
        }
        return h;
    }

    // ------------------------------------------------------------------ public API

    /**
     * Summed next-token NLL over {@code tokens} (labels = inputs shifted by one), no gradients. The last token is
     * only a label, so a sequence may hold context + 1 tokens (the evaluation protocols' chunks): the forward runs
     * over the first {@code tokens.length - 1}.
     */
    public LossResult loss(int[] tokens) {
        if (tokens.length < 2) {
            throw new GblmException("need at least 2 tokens, got " + tokens.length);
        }
        int[] inputs = java.util.Arrays.copyOf(tokens, tokens.length - 1);
        requireTokens(inputs, 1);
        requireTokens(new int[] {tokens[tokens.length - 1]}, 1);
        return noGrad(() -> {
            try (NDManager m = manager.newSubManager()) {
                NDArray h = hidden(inputs, m, null);
                return headLoss(h, tokens);
            }
        });
    }

    /**
     * {@link #loss} of every sequence, run layer-major: each layer goes over all sequences before the next, so a lazy
     * model widens each layer's weights once for the batch instead of once per sequence. Memory: the batch's hidden
     * states of one layer ({@code sum(T)·hidden} floats, twice). The same ops on the same inputs as {@link #loss}: the
     * same results, bit for bit (LazyWeightsTest).
     */
    public LossResult[] losses(List<int[]> sequences) {
        int n = sequences.size();
        int[][] inputs = new int[n][];
        for (int i = 0; i < n; i++) {
            int[] tokens = sequences.get(i);
            if (tokens.length < 2) {
                throw new GblmException("need at least 2 tokens, got " + tokens.length);
            }
            inputs[i] = java.util.Arrays.copyOf(tokens, tokens.length - 1);
            requireTokens(inputs[i], 1);
            requireTokens(new int[] {tokens[tokens.length - 1]}, 1);
        }
        return noGrad(() -> {
            try (NDManager m = manager.newSubManager()) {
                NDArray[] h = new NDArray[n];
                NDArray[][] pos = new NDArray[n][];
                for (int i = 0; i < n; i++) {
                    h[i] = embed(inputs[i], m);
                    pos[i] = positions(m, inputs[i].length);
                }
                for (int l = 0; l < cfg.numLayers(); l++) {
                    try (NDManager weights = m.newSubManager()) {
                        NDArray[] w = layerWeights(l, weights);
                        for (int i = 0; i < n; i++) {
                            NDArray in = h[i];
                            try (NDManager step = m.newSubManager()) {
                                in.tempAttach(step);
                                NDArray out = layer(l, in, null, pos[i], w);
                                out.attach(m);
                                h[i] = out;
                            }
                            in.close();
                        }
                    }
                }
                LossResult[] out = new LossResult[n];
                for (int i = 0; i < n; i++) {
                    out[i] = headLoss(h[i], sequences.get(i));
                }
                return out;
            }
        });
    }

    /** Logits [vocab] for the token following {@code tokens}. */
    public float[] nextTokenLogits(int[] tokens) {
        requireTokens(tokens, 1);
        return noGrad(() -> {
            try (NDManager m = manager.newSubManager()) {
                NDArray h = hidden(tokens, m, null);
                NDArray last = h.get(tokens.length - 1).reshape(1, cfg.hiddenSize());
                return Linear.linear(rmsNorm(last, finalNorm), lmHead).singletonOrThrow().toFloatArray();
            }
        });
    }

    /** Logits [tokens, vocab] (row-major) for every position; for tests and tools. */
    public float[] logits(int[] tokens) {
        requireTokens(tokens, 1);
        return noGrad(() -> {
            try (NDManager m = manager.newSubManager()) {
                NDArray h = hidden(tokens, m, null);
                return Linear.linear(rmsNorm(h, finalNorm), lmHead).singletonOrThrow().toFloatArray();
            }
        });
    }

    /**
     * Forward with gradients on the seven linear weights of every layer, mean cross-entropy, backward.
     * {@code acts} sees each module's input during the forward, {@code grads} each dL/dW after the
     * backward; both may be null. Gradients are zeroed before returning.
     */
    public LossResult forwardBackward(int[] tokens, ActivationObserver acts, GradientObserver grads) {
        if (lazy) {
            // the whole-model graph would need every layer's float32 weights alive at once: the layer-major pass
            // computes the same statistics (bit-identical, see LayerMajorPassTest) one layer at a time
            return LayerMajorPass.forwardBackward(this, tokens, acts, grads);
        }
        requireTokens(tokens, 2);
        synchronized (GRADIENT_LOCK) {
            return forwardBackwardLocked(tokens, acts, grads);
        }
    }

    private LossResult forwardBackwardLocked(int[] tokens, ActivationObserver acts, GradientObserver grads) {
        zeroGradients();
        LossResult result;
        try (NDManager m = manager.newSubManager();
                GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray h = hidden(tokens, m, acts);
            NDArray nll = tokenNll(h, tokens);
            NDArray meanLoss = nll.mean();
            double sum = nll.sum().getFloat() ;
            result = new LossResult(sum, tokens.length - 1);
            gc.backward(meanLoss);
            if (grads != null) {
                for (int l = 0; l < cfg.numLayers(); l++) {
                    for (LinearKind k : LinearKind.values()) {
                        // in the call's manager, so whatever the observer derives from g is freed with it
                        NDArray g = linear[l][k.ordinal()].getGradient();
                        g.attach(m);
                        grads.onGradient(l, k, g);
                    }
                }
            }
        } finally {
            zeroGradients();
        }
        return result;
    }

    /** Token embeddings [tokens, hidden], owned by {@code m}. */
    public NDArray embed(int[] tokens, NDManager m) {
        if (embed != null) {
            NDArray ids = m.create(toLongs(tokens));
            return Embedding.embedding(ids, embed, SparseFormat.DENSE).singletonOrThrow();
        }
        // untied: only these rows are widened, so the embedding never occupies engine memory
        int d = cfg.hiddenSize();
        FloatBuffer rows = FloatBuffer.allocate(tokens.length * d);
        for (int t : tokens) {
            embedRows.widenInto((long) t * d, d, rows);
        }
        return m.create(rows.array(), new Shape(tokens.length, d));
    }

    /** One decoder layer without gradients; the result joins {@code hidden}'s manager. */
    public NDArray layerForward(int layer, NDArray hidden, ActivationObserver acts) {
        return noGrad(() -> {
            NDArray[] pos = positions(hidden.getManager(), (int) hidden.getShape().get(0));
            NDArray out = layer(layer, hidden, acts, pos);
            for (NDArray p : pos) {
                p.close();
            }
            return out;
        });
    }

    /** Final norm, lm_head and summed next-token NLL of a last hidden state [tokens, hidden]. */
    public LossResult headLoss(NDArray hidden, int[] tokens) {
        return noGrad(() -> {
            NDArray nll = tokenNll(hidden, tokens);
            return new LossResult(nll.sum().getFloat(), tokens.length - 1);
        });
    }

    public int[] weightShape(int layer, LinearKind k) {
        long[] s = source.tensor(k.weightName(layer)).shape();
        return new int[] {(int) s[0], (int) s[1]};
    }

    /** The weight [out, in] of a linear module, row-major. */
    public float[] weight(int layer, LinearKind k) {
        if (!lazy) {
            return linear[layer][k.ordinal()].toFloatArray();
        }
        float[] r = replaced[layer][k.ordinal()];
        if (r != null) {
            return r.clone();
        }
        float[] w = source.tensor(k.weightName(layer)).toFloats();
        long[] z = zeroed[layer][k.ordinal()];
        if (z != null) {
            for (long i = nextSet(z, 0); i >= 0; i = nextSet(z, i + 1)) {
                w[(int) i] = 0f;
            }
        }
        return w;
    }

    /** Replaces the weight [out, in] of a linear module (row-major). */
    public void setWeight(int layer, LinearKind k, float[] rowMajor) {
        if (lazy) {
            setLazyWeight(layer, k, rowMajor);
            return;
        }
        NDArray old = linear[layer][k.ordinal()];
        if (rowMajor.length != old.getShape().size()) {
            throw new IllegalArgumentException(k.weightName(layer) + ": " + rowMajor.length + " values for "
                    + old.getShape());
        }
        NDArray w = manager.create(rowMajor, old.getShape());
        w.setRequiresGradient(true);
        linear[layer][k.ordinal()] = w;
        old.close();
    }

    /**
     * A lazy model's edit, relative to the stored weight: pruning only zeroes entries, which costs one bit per
     * element; any other change (SparseGPT's updates) keeps the float32 values.
     */
    private void setLazyWeight(int layer, LinearKind k, float[] rowMajor) {
        TensorData t = source.tensor(k.weightName(layer));
        if (rowMajor.length != t.numel()) {
            throw new IllegalArgumentException(k.weightName(layer) + ": " + rowMajor.length + " values for "
                    + java.util.Arrays.toString(t.shape()));
        }
        float[] stored = t.toFloats();
        long[] bits = new long[(rowMajor.length + 63) >>> 6];
        boolean any = false;
        for (int i = 0; i < rowMajor.length; i++) {
            int now = Float.floatToRawIntBits(rowMajor[i]);
            if (now == Float.floatToRawIntBits(stored[i])) {
                continue;
            }
            if (now != 0) {
                zeroed[layer][k.ordinal()] = null;
                replaced[layer][k.ordinal()] = rowMajor.clone();
                return;
            }
            bits[i >>> 6] |= 1L << i;
            any = true;
        }
        zeroed[layer][k.ordinal()] = any ? bits : null;
        replaced[layer][k.ordinal()] = null;
    }

    /**
     * The current weights as tensors in the source checkpoint's order and dtypes: linear weights are
     * re-encoded from the engine (so edits show), every other tensor is the source's, bit for bit.
     */
    public Map<String, TensorData> exportTensors() {
        Map<String, TensorData> out = new LinkedHashMap<>();
        for (Map.Entry<String, TensorData> e : source.tensors().entrySet()) {
            out.put(e.getKey(), e.getValue());
        }
        for (int l = 0; l < cfg.numLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                TensorData src = source.tensor(k.weightName(l));
                out.put(src.name(), TensorData.fromFloats(src.name(), src.dtype(), src.shape(), weight(l, k)));
            }
        }
        return out;
    }

    /** A checkpoint holding the current weights (see {@link #exportTensors()}). */
    public Checkpoint toCheckpoint() {
        return new Checkpoint(cfg, exportTensors(), source.source(), source.format());
    }

    /** A scope under the weight manager for one call's intermediates (same device as the weights); close it. */
    public NDManager newScope() {
        return manager.newSubManager();
    }

    /** Number of arrays owned by the weight manager (tests use it to prove nothing leaks into it). */
    int managedArrayCount() {
        return ((ai.djl.ndarray.BaseNDManager) manager).getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
    }

    // ------------------------------------------------------------------ the math

    /** Decoder layer {@code l} with the model's weights (a lazy model's widened for this call and freed after). */
    NDArray layer(int l, NDArray x, ActivationObserver acts, NDArray[] pos) {
        if (!lazy) {
            return layer(l, x, acts, pos, linear[l]);
        }
        try (NDManager weights = manager.newSubManager()) {
            return layer(l, x, acts, pos, layerWeights(l, weights));
        }
    }

    /**
     * Decoder layer {@code l} with the linear weights {@code w} (indexed by {@link LinearKind#ordinal()}): the
     * model's own, or copies a caller differentiates without touching the model's (see {@link LayerMajorPass}).
     */
    NDArray layer(int l, NDArray x, ActivationObserver acts, NDArray[] pos, NDArray[] w) {
        int T = (int) x.getShape().get(0);
        int H = cfg.numHeads();
        int KV = cfg.numKvHeads();
        int hd = cfg.headDim();
        int rep = H / KV;

        NDArray h = rmsNorm(x, inNorm[l]);
        observe(acts, l, h, LinearKind.Q_PROJ, LinearKind.K_PROJ, LinearKind.V_PROJ);
        NDArray q = Linear.linear(h, w[LinearKind.Q_PROJ.ordinal()]).singletonOrThrow()
                .reshape(T, H, hd).transpose(1, 0, 2);
        NDArray k = Linear.linear(h, w[LinearKind.K_PROJ.ordinal()]).singletonOrThrow()
                .reshape(T, KV, hd).transpose(1, 0, 2);
        NDArray v = Linear.linear(h, w[LinearKind.V_PROJ.ordinal()]).singletonOrThrow()
                .reshape(T, KV, hd).transpose(1, 0, 2);
        q = rotate(q, pos[0], pos[1]).mul(scalar(x.getManager(), (float) (1.0 / Math.sqrt(hd))));
        k = rotate(k, pos[0], pos[1]);
        // grouped-query attention without copying k/v: query heads g*rep..g*rep+rep-1 share kv head g
        NDArray scores = q.reshape(KV, rep * T, hd).matMul(k.transpose(0, 2, 1)).reshape(KV, rep, T, T)
                .add(pos[2]);
        NDArray p = scores.softmax(-1).reshape(KV, rep * T, T);
        NDArray o = p.matMul(v).reshape(H, T, hd).transpose(1, 0, 2).reshape(T, (long) H * hd);
        observe(acts, l, o, LinearKind.O_PROJ);
        x = x.add(Linear.linear(o, w[LinearKind.O_PROJ.ordinal()]).singletonOrThrow());

        NDArray h2 = rmsNorm(x, postNorm[l]);
        observe(acts, l, h2, LinearKind.GATE_PROJ, LinearKind.UP_PROJ);
        NDArray g = Linear.linear(h2, w[LinearKind.GATE_PROJ.ordinal()]).singletonOrThrow();
        NDArray u = Linear.linear(h2, w[LinearKind.UP_PROJ.ordinal()]).singletonOrThrow();
        NDArray a = Activation.sigmoid(g).mul(g).mul(u);
        observe(acts, l, a, LinearKind.DOWN_PROJ);
        return x.add(Linear.linear(a, w[LinearKind.DOWN_PROJ.ordinal()]).singletonOrThrow());
    }

    private static void observe(ActivationObserver acts, int l, NDArray x, LinearKind... kinds) {
        if (acts == null) {
            return;
        }
        try (NDArray detached = x.stopGradient()) {
            for (LinearKind k : kinds) {
                acts.onInput(l, k, detached);
            }
        }
    }

    private NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray ms = x.square().mean(new int[] {-1}, true);
        return x.div(ms.add(scalar(ms.getManager(), normEps)).sqrt()).mul(weight);
    }

    /**
     * A float32 scalar tensor whose memory PyTorch owns, living in {@code m} (the call's scope).
     *
     * <p>Why not {@code NDArray.mul(Number)}: DJL wraps the number in a tensor over a Java direct buffer and closes
     * that tensor right after the forward op. Autograd keeps the tensor for the backward (d(a*s)/da = s), but
     * nothing keeps the Java buffer: a garbage collection between forward and backward frees it, and the gradients
     * upstream of the multiplication come out wrong (see {@code GradientGcStabilityTest}). Every constant that a
     * differentiated op may save must therefore be PyTorch-owned or stay in the call's manager until it closes.
     */
    private static NDArray scalar(NDManager m, float value) {
        return m.full(new Shape(), value);
    }

    /** x*cos + rotate_half(x)*sin with rotate_half(x) = [-x2, x1]. */
    private static NDArray rotate(NDArray x, NDArray cos, NDArray sin) {
        long hd = x.getShape().get(2);
        long half = hd / 2;
        NDArray x1 = x.get(":, :, :" + half);
        NDArray x2 = x.get(":, :, " + half + ":");
        NDArray rot = x2.neg().concat(x1, 2);
        return x.mul(cos).add(rot.mul(sin));
    }

    /**
     * Per-call positional constants, made once per forward and shared by all layers: cos and sin
     * [T, headDim] for positions 0..T-1 (frequencies duplicated as Hugging Face does) and the causal mask.
     */
    NDArray[] positions(NDManager m, int T) {
        int half = ropeInvFreq.length;
        int hd = 2 * half;
        float[] cos = new float[T * hd];
        float[] sin = new float[T * hd];
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < half; i++) {
                float angle = t * ropeInvFreq[i];
                float c = (float) Math.cos(angle);
                float s = (float) Math.sin(angle);
                cos[t * hd + i] = c;
                cos[t * hd + half + i] = c;
                sin[t * hd + i] = s;
                sin[t * hd + half + i] = s;
            }
        }
        return new NDArray[] {m.create(cos, new Shape(T, hd)), m.create(sin, new Shape(T, hd)), causalMask(m, T)};
    }

    private static NDArray causalMask(NDManager m, int T) {
        float[] mask = new float[T * T];
        for (int i = 0; i < T; i++) {
            java.util.Arrays.fill(mask, i * T + i + 1, (i + 1) * T, Float.NEGATIVE_INFINITY);
        }
        return m.create(mask, new Shape(T, T));
    }

    /** Per-position NLL [T-1] of the next token. */
    NDArray tokenNll(NDArray hidden, int[] tokens) {
        int T = tokens.length;
        NDArray hs = hidden.get("0:" + (T - 1));
        NDArray logp = Linear.linear(rmsNorm(hs, finalNorm), lmHead).singletonOrThrow().logSoftmax(-1);
        long[] labels = new long[T - 1];
        for (int i = 0; i < T - 1; i++) {
            labels[i] = tokens[i + 1];
        }
        NDArray idx = hidden.getManager().create(labels, new Shape(T - 1, 1));
        return logp.gather(idx, 1).neg().reshape(T - 1);
    }

    private void zeroGradients() {
        if (linear == null) {
            return;
        }
        for (NDArray[] layer : linear) {
            for (NDArray w : layer) {
                JniUtils.zeroGrad((PtNDArray) w);
            }
        }
    }

    void requireTokens(int[] tokens, int min) {
        if (tokens.length < min) {
            throw new GblmException("need at least " + min + " tokens, got " + tokens.length);
        }
        if (tokens.length > cfg.maxPositionEmbeddings()) {
            throw new GblmException(tokens.length + " tokens exceed the model's context of "
                    + cfg.maxPositionEmbeddings());
        }
        if (tokens.length > cfg.maxSequenceLength()) {
            throw new GblmException(tokens.length + " tokens exceed the model's sliding_window of "
                    + cfg.slidingWindow() + " (sliding-window attention is not implemented; use shorter sequences)");
        }
        for (int t : tokens) {
            if (t < 0 || t >= cfg.vocabSize()) {
                throw new GblmException("token id " + t + " outside the vocabulary of " + cfg.vocabSize());
            }
        }
    }

    private static long[] toLongs(int[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i];
        }
        return r;
    }

    static <T> T noGrad(java.util.function.Supplier<T> f) {
        boolean prev = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            return f.get();
        } finally {
            JniUtils.setGradMode(prev);
        }
    }

    static DataType computeType() {
        return DataType.FLOAT32;
    }
}
