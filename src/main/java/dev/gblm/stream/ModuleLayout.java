package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.gblm.model.LinearKind;
import dev.gblm.stats.RowBlockPlanner;
import dev.gblm.stats.RowRange;
import dev.gblm.stats.StatKinds;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The row blocks of one module under a profile's layout: {@code rowStarts} ascending, block {@code i} is rows
 * {@code [rowStarts[i], rowStarts[i+1])} (the last ends at {@code out}).
 */
public record ModuleLayout(int layer, String module, int out, int in, List<Integer> rowStarts) {
    public ModuleLayout {
        rowStarts = List.copyOf(rowStarts);
    }

    /** Checks the layout is usable: a known module, positive shape, row starts ascending from 0 inside {@code out}. */
    public ModuleLayout validate() {
        try {
            kind();
        } catch (RuntimeException e) {
            throw new RecordFormatException("layout names unknown module '" + module + "'");
        }
        if (layer < 0 || out <= 0 || in <= 0 || rowStarts.isEmpty() || rowStarts.get(0) != 0) {
            throw new RecordFormatException("bad layout of layer " + layer + " " + module + ": [" + out + "," + in
                    + "], row starts " + rowStarts);
        }
        for (int i = 1; i < rowStarts.size(); i++) {
            if (rowStarts.get(i) <= rowStarts.get(i - 1) || rowStarts.get(i) >= out) {
                throw new RecordFormatException("bad row starts of layer " + layer + " " + module + ": " + rowStarts);
            }
        }
        return this;
    }

    @JsonIgnore
    public LinearKind kind() {
        return LinearKind.fromShortName(module);
    }

    public int rowEnd(int blockIndex) {
        return blockIndex + 1 < rowStarts.size() ? rowStarts.get(blockIndex + 1) : out;
    }

    /**
     * The layout of every module of a model for a profile: what each worker's RowBlockPlanner produces.
     *
     * @param shape {@code {out, in}} of module {@code k} of layer {@code l}
     */
    public static List<ModuleLayout> of(int numLayers, BiFunction<Integer, LinearKind, int[]> shape, Profile profile) {
        StatKinds kinds = profile.kinds();
        List<ModuleLayout> out = new ArrayList<>();
        for (int l = 0; l < numLayers; l++) {
            for (LinearKind k : LinearKind.values()) {
                int[] s = shape.apply(l, k);
                List<Integer> starts = new ArrayList<>();
                for (RowRange r : RowBlockPlanner.plan(s[0], s[1], kinds, profile.blockBytes())) {
                    starts.add(r.start());
                }
                out.add(new ModuleLayout(l, k.shortName(), s[0], s[1], starts));
            }
        }
        return out;
    }

    public static int blockCount(List<ModuleLayout> layout) {
        return layout.stream().mapToInt(m -> m.rowStarts().size()).sum();
    }
}
