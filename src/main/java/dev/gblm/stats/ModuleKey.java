package dev.gblm.stats;

import dev.gblm.model.LinearKind;
import java.util.Comparator;
import java.util.Objects;

/** A linear module of the model: decoder layer index and module kind; ordered by layer, then module. */
public record ModuleKey(int layer, LinearKind kind) implements Comparable<ModuleKey> {
    private static final Comparator<ModuleKey> ORDER =
            Comparator.comparingInt(ModuleKey::layer).thenComparing(ModuleKey::kind);

    public ModuleKey {
        Objects.requireNonNull(kind, "kind");
        if (layer < 0) {
            throw new IllegalArgumentException("layer must be >= 0: " + layer);
        }
    }

    @Override
    public int compareTo(ModuleKey o) {
        return ORDER.compare(this, o);
    }

    @Override
    public String toString() {
        return "layer " + layer + " " + kind.shortName();
    }
}
