package dev.gblm.stream.exporter;

import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModuleLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The mask blocks of one epoch as they arrive, possibly before the epoch record. Complete when the record is known
 * and every block its layout lists has arrived; then {@link #masks()} stacks the row blocks into full masks. Also
 * remembers the lowest offset of every record it holds per partition: the exporter may not commit past them until
 * the epoch is exported. Pure (no I/O).
 */
final class EpochAssembly {
    private final String job;
    private final int epoch;
    private EpochRecord record;
    /** key: layer/module/rowStart */
    private final Map<String, MaskBlock> blocks = new HashMap<>();
    private final Map<String, Long> minOffsets = new HashMap<>();
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

    EpochRecord record() {
        return record;
    }

    int duplicates() {
        return duplicates;
    }

    /** Records where this assembly's data starts on a partition ({@code topic-partition}). */
    void held(String partition, long offset) {
        minOffsets.merge(partition, offset, Math::min);
    }

    Map<String, Long> minOffsets() {
        return minOffsets;
    }

    void setRecord(EpochRecord r) {
        if (!r.job().equals(job) || r.epoch() != epoch) {
            throw new IllegalArgumentException("epoch record " + r.job() + "/" + r.epoch() + " given to " + job + "/" + epoch);
        }
        record = r;
    }

    /** Adds a block; a second copy of the same block (a replay) is ignored and counted. */
    void add(MaskBlock b) {
        String k = b.layer() + "/" + b.module().shortName() + "/" + b.rowStart();
        if (blocks.putIfAbsent(k, b) != null) {
            duplicates++;
        }
    }

    int blocksReceived() {
        return blocks.size();
    }

    /** Blocks the record lists that have not arrived (all of them while the record is unknown: -1). */
    int missing() {
        if (record == null) {
            return -1;
        }
        int n = 0;
        for (BlockKey k : record.blockKeys()) {
            if (!blocks.containsKey(k.layer() + "/" + k.module().shortName() + "/" + k.rowStart())) {
                n++;
            }
        }
        return n;
    }

    boolean complete() {
        return missing() == 0;
    }

    /** Full masks per module, rows stacked in layout order; only when {@link #complete()}. */
    Map<ModuleKey, Mask> masks() {
        if (!complete()) {
            throw new IllegalStateException("epoch " + job + "/" + epoch + " is incomplete");
        }
        Map<ModuleKey, Mask> out = new TreeMap<>();
        for (ModuleLayout m : record.blocks()) {
            List<Mask> parts = new ArrayList<>();
            for (int i = 0; i < m.rowStarts().size(); i++) {
                MaskBlock b = blocks.get(m.layer() + "/" + m.kind().shortName() + "/" + m.rowStarts().get(i));
                if (b.rowEnd() != m.rowEnd(i) || b.mask().cols() != m.in()) {
                    throw new IllegalStateException("mask block " + m.layer() + "/" + m.module() + "/" + b.rowStart()
                            + " is rows " + b.rowStart() + ".." + b.rowEnd() + " x " + b.mask().cols() + ", layout says ..."
                            + m.rowEnd(i) + " x " + m.in());
                }
                parts.add(b.mask());
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
