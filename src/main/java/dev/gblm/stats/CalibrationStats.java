package dev.gblm.stats;

import dev.gblm.model.LinearKind;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The statistics of every linear module of a model, keyed by (layer, module), each whole-module
 * {@link ModuleStats} (or one row block per key, as the producer decides). Merging is per key: keys on one
 * side only are copied, shared keys are summed. Mutable, not thread-safe.
 */
public final class CalibrationStats {
    private final TreeMap<ModuleKey, ModuleStats> modules = new TreeMap<>();

    /** Adds (merges) one module's statistics; the argument is copied, never aliased. */
    public CalibrationStats add(ModuleStats s) {
        ModuleKey key = new ModuleKey(s.layer(), s.module());
        ModuleStats cur = modules.get(key);
        if (cur == null) {
            modules.put(key, s.copy());
        } else {
            cur.mergeInPlace(s);
        }
        return this;
    }

    /** Merges {@code other} into this (in place) and returns this. */
    public CalibrationStats mergeInPlace(CalibrationStats other) {
        for (ModuleStats s : other.modules.values()) {
            add(s);
        }
        return this;
    }

    /** The sum of this and {@code other} as a new object. */
    public CalibrationStats merge(CalibrationStats other) {
        return copy().mergeInPlace(other);
    }

    public CalibrationStats copy() {
        CalibrationStats c = new CalibrationStats();
        for (ModuleStats s : modules.values()) {
            c.modules.put(new ModuleKey(s.layer(), s.module()), s.copy());
        }
        return c;
    }

    /** The live statistics of a module, or null. */
    public ModuleStats get(int layer, LinearKind kind) {
        return modules.get(new ModuleKey(layer, kind));
    }

    /** Read-only view, ordered by layer then module. */
    public SortedMap<ModuleKey, ModuleStats> modules() {
        return Collections.unmodifiableSortedMap(modules);
    }

    public int size() {
        return modules.size();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CalibrationStats && ((CalibrationStats) o).modules.equals(modules);
    }

    @Override
    public int hashCode() {
        return modules.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("CalibrationStats{");
        for (Map.Entry<ModuleKey, ModuleStats> e : modules.entrySet()) {
            b.append(e.getValue()).append(' ');
        }
        return b.append('}').toString();
    }
}
