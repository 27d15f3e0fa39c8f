package dev.gblm.stats;

import java.util.EnumSet;
import java.util.Set;
import java.util.StringJoiner;

/** An immutable set of {@link StatKind}s, stored as the bit flags used on the wire. */
public final class StatKinds {
    private static final int ALL_BITS = StatKind.GRAD.bit() | StatKind.ACT.bit() | StatKind.HESSIAN.bit();

    private final int bits;

    private StatKinds(int bits) {
        this.bits = bits;
    }

    public static StatKinds of(StatKind... kinds) {
        int b = 0;
        for (StatKind k : kinds) {
            b |= k.bit();
        }
        return new StatKinds(b);
    }

    public static StatKinds of(Set<StatKind> kinds) {
        return of(kinds.toArray(new StatKind[0]));
    }

    /** Decodes wire flags; unknown bits are rejected so a newer writer's record is never half-read. */
    public static StatKinds fromBits(int bits) {
        if ((bits & ~ALL_BITS) != 0) {
            throw new IllegalArgumentException("unknown statistic kind bits 0x" + Integer.toHexString(bits));
        }
        return new StatKinds(bits);
    }

    public int bits() {
        return bits;
    }

    public boolean contains(StatKind kind) {
        return (bits & kind.bit()) != 0;
    }

    public boolean isEmpty() {
        return bits == 0;
    }

    public Set<StatKind> toSet() {
        EnumSet<StatKind> s = EnumSet.noneOf(StatKind.class);
        for (StatKind k : StatKind.values()) {
            if (contains(k)) {
                s.add(k);
            }
        }
        return s;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StatKinds && ((StatKinds) o).bits == bits;
    }

    @Override
    public int hashCode() {
        return bits;
    }

    @Override
    public String toString() {
        StringJoiner j = new StringJoiner(",", "[", "]");
        for (StatKind k : toSet()) {
            j.add(k.name());
        }
        return j.toString();
    }
}
