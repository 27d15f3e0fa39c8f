package dev.gblm.stats;

/** Rows {@code [start, end)} of a weight matrix. */
public record RowRange(int start, int end) {
    public RowRange {
        if (start < 0 || end <= start) {
            throw new IllegalArgumentException("bad row range [" + start + "," + end + ")");
        }
    }

    public int rows() {
        return end - start;
    }

    @Override
    public String toString() {
        return "[" + start + "," + end + ")";
    }
}
