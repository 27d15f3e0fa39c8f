package dev.gblm.stream.exporter;

import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModuleLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The mask blocks of one epoch as they arrive, possibly before the epoch record. Complete when the record is known
 * and every block its layout lists has been accepted; then {@link #masks()} stacks the row blocks into full masks.
 *
 * <p>A block is only judged once the record is known (until then every distinct copy per block is kept): it must come
 * from the finalizer that declared the epoch (header {@code gblm.finalizer} = {@link EpochRecord#finalizer}; a record
 * without one accepts only blocks without the header) and have exactly the rows and columns the layout gives that
 * block. The first block per slot that passes wins; a refused block never takes a slot, so a forged or stale block
 * cannot keep the real one out, and it is handed back as a {@link Refusal} for the dead-letter queue instead of
 * failing the export.
 *
 * <p>An {@code alpha=auto} epoch has one block per slot and grid point: each carries header {@code gblm.alpha} = its
 * index in the job's grid, a slot is judged per grid point, and the epoch is complete when every grid point has every
 * block; {@link #masks(int)} stacks one grid point's. Blocks of other epochs must not carry the header.
 *
 * <p>Also remembers the offset of every record it still needs per partition: the exporter may not commit past them
 * until the epoch is exported. Refused blocks and duplicates are released, so their offsets can be committed with
 * their dead letters. Pure (no I/O).
 */
final class EpochAssembly {
    /**
     * A mask block as it arrived, with what a dead letter needs: key, original value, finalizer header, source;
     * {@code alpha} is its {@code gblm.alpha} header (grid index as text; null when absent).
     */
    record Arrival(String key, byte[] value, MaskBlock block, String finalizer, String alpha, String partition,
            long offset) {
        /** A block without alpha header. */
        Arrival(String key, byte[] value, MaskBlock block, String finalizer, String partition, long offset) {
            this(key, value, block, finalizer, null, partition, offset);
        }

        /** The block's place in the layout, without the grid point. */
        String slot() {
            return EpochAssembly.slot(block.layer(), block.module().shortName(), block.rowStart());
        }

        /** The slot and, for a grid block, its alpha header: what one accepted block fills. */
        String gridSlot() {
            return alpha == null ? slot() : slot() + "#" + alpha;
        }

        boolean sameAs(Arrival o) {
            return Objects.equals(finalizer, o.finalizer) && Arrays.equals(value, o.value);
        }
    }

    /** A block this epoch will not use: the dead-letter reason code and text. */
    record Refusal(Arrival arrival, String reason, String detail) {}

    private final String job;
    private final int epoch;
    private EpochRecord record;
    /** Grid points of the record's alpha=auto job; 0 for every other epoch (and while the record is unknown). */
    private int gridSize;
    /** slot (layer/module/rowStart) → {rowEnd, in} under the record's layout */
    private final Map<String, int[]> shapes = new HashMap<>();
    /** Before the record is known: every distinct copy of each block, in arrival order. */
    private final Map<String, List<Arrival>> unjudged = new LinkedHashMap<>();
    private final Map<String, MaskBlock> accepted = new HashMap<>();
    private final Map<String, TreeSet<Long>> held = new HashMap<>();
    private int duplicates;

    EpochAssembly(String job, int epoch) {
        this.job = job;
        this.epoch = epoch;
    }

    String job() {
        return job;
    }

    int epoch() {
        return epoch;
    }

    String id() {
        return job + "/" + epoch;
    }

    EpochRecord record() {
        return record;
    }

    int duplicates() {
        return duplicates;
    }

    static String slot(int layer, String module, int rowStart) {
        return layer + "/" + module + "/" + rowStart;
    }

    /** Keeps the commit on {@code partition} ({@code topic-partition}) from passing {@code offset}. */
    void hold(String partition, long offset) {
        held.computeIfAbsent(partition, k -> new TreeSet<>()).add(offset);
    }

    private void release(String partition, long offset) {
        TreeSet<Long> s = held.get(partition);
        if (s != null && s.remove(offset) && s.isEmpty()) {
            held.remove(partition);
        }
    }

    /** Per partition, the lowest offset of a record this assembly still needs. */
    Map<String, Long> minOffsets() {
        Map<String, Long> out = new HashMap<>();
        held.forEach((p, s) -> out.put(p, s.first()));
        return out;
    }

    /**
     * Sets the epoch record (once; the caller decides which record is the declaration) and judges the blocks that
     * arrived before it. Returns the refused ones.
     */
    List<Refusal> setRecord(EpochRecord r) {
        if (!r.job().equals(job) || r.epoch() != epoch) {
            throw new IllegalArgumentException("epoch record " + r.job() + "/" + r.epoch() + " given to " + id());
        }
        if (record != null) {
            throw new IllegalStateException("epoch " + id() + " already has its record");
        }
        record = r;
        gridSize = r.spec().isAutoAlpha() ? r.spec().alphaGridValues().size() : 0;
        for (ModuleLayout m : r.blocks()) {
            for (int i = 0; i < m.rowStarts().size(); i++) {
                shapes.put(slot(m.layer(), m.kind().shortName(), m.rowStarts().get(i)), new int[] {m.rowEnd(i), m.in()});
            }
        }
        List<Refusal> refused = new ArrayList<>();
        for (List<Arrival> copies : unjudged.values()) {
            for (Arrival a : copies) {
                release(a.partition(), a.offset());
                Refusal x = judge(a);
                if (x != null) {
                    refused.add(x);
                }
            }
        }
        unjudged.clear();
        return refused;
    }

    /**
     * Adds a block. A second identical copy (a replay) is ignored and counted. Returns the refusal when the record
     * is known and the block does not belong to the epoch; before the record, nothing is refused.
     */
    Refusal add(Arrival a) {
        if (record != null) {
            return judge(a);
        }
        List<Arrival> copies = unjudged.computeIfAbsent(a.gridSlot(), k -> new ArrayList<>());
        for (Arrival c : copies) {
            if (c.sameAs(a)) {
                duplicates++;
                return null;
            }
        }
        copies.add(a);
        hold(a.partition(), a.offset());
        return null;
    }

    /** Accepts {@code a} into its slot (holding its offset), counts it as a duplicate, or says why it is refused. */
    private Refusal judge(Arrival a) {
        MaskBlock b = a.block();
        if (!Objects.equals(a.finalizer(), record.finalizer())) {
            return new Refusal(a, "foreign-finalizer", "mask block " + a.key() + " comes from finalizer "
                    + quoted(a.finalizer()) + ", epoch " + id() + " was declared by " + quoted(record.finalizer()));
        }
        int[] shape = shapes.get(a.slot());
        if (shape == null) {
            return new Refusal(a, "unknown-block", "mask block " + a.key() + " is not a block of epoch " + id()
                    + "'s layout");
        }
        if (b.rowEnd() != shape[0] || b.mask().cols() != shape[1]) {
            return new Refusal(a, "wrong-shape", "mask block " + a.key() + " is rows " + b.rowStart() + ".." + b.rowEnd()
                    + " x " + b.mask().cols() + ", the layout of epoch " + id() + " says " + b.rowStart() + ".."
                    + shape[0] + " x " + shape[1]);
        }
        String gridProblem = gridProblem(a);
        if (gridProblem != null) {
            return new Refusal(a, "unknown-block", "mask block " + a.key() + " " + gridProblem);
        }
        MaskBlock first = accepted.get(a.gridSlot());
        if (first == null) {
            accepted.put(a.gridSlot(), b);
            hold(a.partition(), a.offset());
            return null;
        }
        if (first.equals(b)) {
            duplicates++;
            return null;
        }
        // both look right; masks are a pure function of the record, so one of them is not what was declared
        return new Refusal(a, "conflicting-mask-block", "mask block " + a.key() + " differs from the block already"
                + " accepted for that slot");
    }

    /** Why the block's alpha header does not fit the epoch: absent for a grid, present without one, out of range. */
    private String gridProblem(Arrival a) {
        if (gridSize == 0) {
            return a.alpha() == null ? null : "carries alpha index " + a.alpha() + " but epoch " + id()
                    + " has no alpha grid";
        }
        int i;
        try {
            i = a.alpha() == null ? -1 : Integer.parseInt(a.alpha());
        } catch (NumberFormatException e) {
            i = -1;
        }
        // the exact text, so that "01" and "1" never fill one grid point twice
        return i >= 0 && i < gridSize && Integer.toString(i).equals(a.alpha()) ? null : "has alpha index "
                + (a.alpha() == null ? "(none)" : "'" + a.alpha() + "'") + ", epoch " + id() + " has " + gridSize
                + " grid points (0.." + (gridSize - 1) + ")";
    }

    /** Grid points of the epoch's alpha=auto job; 0 for every other epoch. */
    int gridSize() {
        return gridSize;
    }

    private static String quoted(String finalizer) {
        return finalizer == null ? "(none)" : "'" + finalizer + "'";
    }

    /** Distinct blocks held: accepted ones, plus those waiting for the record. */
    int blocksReceived() {
        return accepted.size() + unjudged.values().stream().mapToInt(List::size).sum();
    }

    /** Blocks the record lists that have not been accepted (all of them while the record is unknown: -1). */
    int missing() {
        return record == null ? -1 : record.blockCount() * Math.max(1, gridSize) - accepted.size();
    }

    boolean complete() {
        return missing() == 0;
    }

    /** Full masks per module, rows stacked in layout order; only when {@link #complete()}, for an epoch without grid. */
    Map<ModuleKey, Mask> masks() {
        if (gridSize > 0) {
            throw new IllegalStateException("epoch " + id() + " has " + gridSize + " alpha grid points: masks(point)");
        }
        return stack(null);
    }

    /** Grid point {@code point}'s full masks of an alpha=auto epoch; only when {@link #complete()}. */
    Map<ModuleKey, Mask> masks(int point) {
        if (point < 0 || point >= gridSize) {
            throw new IllegalArgumentException("epoch " + id() + " has no alpha grid point " + point);
        }
        return stack(Integer.toString(point));
    }

    private Map<ModuleKey, Mask> stack(String alpha) {
        if (!complete()) {
            throw new IllegalStateException("epoch " + id() + " is incomplete");
        }
        Map<ModuleKey, Mask> out = new TreeMap<>();
        for (ModuleLayout m : record.blocks()) {
            List<Mask> parts = new ArrayList<>();
            for (int start : m.rowStarts()) {
                String slot = slot(m.layer(), m.kind().shortName(), start);
                parts.add(accepted.get(alpha == null ? slot : slot + "#" + alpha).mask());
            }
            out.put(new ModuleKey(m.layer(), m.kind()), Mask.concatRows(parts));
        }
        return out;
    }

    /** Per-module sparsity of complete masks, by {@code layers.<l>.<module>}. */
    static Map<String, Double> sparsity(Map<ModuleKey, Mask> masks) {
        Map<String, Double> out = new LinkedHashMap<>();
        masks.forEach((k, m) -> out.put("layers." + k.layer() + "." + k.kind().shortName(), m.sparsity()));
        return out;
    }
}
