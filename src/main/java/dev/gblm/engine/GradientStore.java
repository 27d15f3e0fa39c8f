package dev.gblm.engine;

import dev.gblm.model.LinearKind;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.HashMap;
import java.util.Map;

/**
 * The dense model's gradient sums of every module, put once (layer by layer, as a layer-major pass completes them)
 * and taken once (when sequential pruning reaches the layer). Held in the Java heap while small; when the sums would
 * exceed {@link SpillSettings#gradientBytes} they go to files of a {@link SpillDirectory} instead (one file per
 * module), so the heap holds one module's arrays at a time. {@link #close} deletes the files.
 *
 * <p>Only the gradient norms asked for are stored: a pruning run reads one ({@code gradL1} for the l1 norm,
 * {@code gradL2Sq} for l2), which halves the disk and heap (4 bytes per parameter instead of 8).
 */
public final class GradientStore implements AutoCloseable {
    private record Entry(int rows, int in, long samples, long tokens, float[] l1, float[] l2Sq) {}

    private final boolean keepL1;
    private final boolean keepL2Sq;
    private final Map<ModuleKey, Entry> entries = new HashMap<>();
    private final SpillDirectory files;

    /**
     * @param params    linear parameters the store will receive (sizes the decision to spill)
     * @param keepL1    store {@code gradL1}
     * @param keepL2Sq  store {@code gradL2Sq}
     */
    public GradientStore(long params, boolean keepL1, boolean keepL2Sq, SpillSettings spill) {
        if (!keepL1 && !keepL2Sq) {
            throw new IllegalArgumentException("no gradient norm to store");
        }
        this.keepL1 = keepL1;
        this.keepL2Sq = keepL2Sq;
        long bytes = params * Float.BYTES * ((keepL1 ? 1 : 0) + (keepL2Sq ? 1 : 0));
        this.files = bytes > spill.gradientBytes()
                ? SpillDirectory.create(spill.dir(), bytes, "the dense gradient sums of sequential pruning") : null;
    }

    /** Whether the sums go to files. */
    public boolean spills() {
        return files != null;
    }

    /** Bytes written to spill files so far. */
    public long bytesWritten() {
        return files == null ? 0 : files.bytesWritten();
    }

    /** Stores the gradient sums of {@code s}'s module (its whole rows); in file mode they are written at once. */
    public void put(ModuleStats s) {
        if (!s.kinds().contains(StatKind.GRAD) || s.rowStart() != 0) {
            throw new IllegalArgumentException("whole-module gradient sums expected, got " + s.kinds() + " from row "
                    + s.rowStart());
        }
        ModuleKey key = new ModuleKey(s.layer(), s.module());
        float[] l1 = keepL1 ? s.gradL1() : null;
        float[] l2Sq = keepL2Sq ? s.gradL2Sq() : null;
        if (files != null) {
            files.writeFloats(fileName(key), stored(l1, l2Sq));
            l1 = null;
            l2Sq = null;
        }
        if (entries.putIfAbsent(key, new Entry(s.rowEnd(), s.in(), s.sampleCount(), s.tokenCount(), l1, l2Sq))
                != null) {
            throw new IllegalStateException("gradient sums of " + key + " stored twice");
        }
    }

    /**
     * The stored sums of one module as GRAD statistics, removed from the store (its file deleted). When only one
     * norm was stored, BOTH of the result's gradient arrays are that norm's array: such statistics may only be read
     * through the stored norm (as scoring with that norm does) and must not be handed on as real statistics.
     */
    public ModuleStats take(int layer, LinearKind kind) {
        ModuleKey key = new ModuleKey(layer, kind);
        Entry e = entries.remove(key);
        if (e == null) {
            throw new IllegalStateException("no gradient sums stored for " + key);
        }
        float[] l1 = e.l1();
        float[] l2Sq = e.l2Sq();
        if (files != null) {
            int n = Math.multiplyExact(e.rows(), e.in());
            l1 = keepL1 ? new float[n] : null;
            l2Sq = keepL2Sq ? new float[n] : null;
            files.readFloats(fileName(key), stored(l1, l2Sq));
            files.delete(fileName(key));
        }
        // the unread norm: a stand-in (see above), never a real sum
        float[] gradL1 = l1 != null ? l1 : l2Sq;
        float[] gradL2Sq = l2Sq != null ? l2Sq : l1;
        return new ModuleStats(layer, kind, 0, e.rows(), e.in(), StatKinds.of(StatKind.GRAD), gradL1, gradL2Sq, null,
                null, e.samples(), e.tokens());
    }

    /** Whether both norms are stored (the statistics {@link #take} returns are real in full). */
    public boolean complete() {
        return keepL1 && keepL2Sq;
    }

    /** Frees everything and deletes the spill directory. */
    @Override
    public void close() {
        entries.clear();
        if (files != null) {
            files.close();
        }
    }

    /** The stored norms in file order ({@code gradL1} first). */
    private static float[][] stored(float[] l1, float[] l2Sq) {
        return l1 == null ? new float[][] {l2Sq} : l2Sq == null ? new float[][] {l1} : new float[][] {l1, l2Sq};
    }

    private static String fileName(ModuleKey key) {
        return "grad-" + key.layer() + "-" + key.kind().name() + ".f32";
    }
}
