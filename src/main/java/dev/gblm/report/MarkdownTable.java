package dev.gblm.report;

import java.util.ArrayList;
import java.util.List;

/** A GitHub-flavoured Markdown table, built row by row. Cells are escaped so that no '|' breaks a row. */
public final class MarkdownTable {
    public enum Align { LEFT, RIGHT }

    private final List<String> headers;
    private final List<Align> aligns;
    private final List<List<String>> rows = new ArrayList<>();

    private MarkdownTable(List<String> headers, List<Align> aligns) {
        this.headers = headers;
        this.aligns = aligns;
    }

    /** Headers; the first column is left-aligned, the others right-aligned (numbers). */
    public static MarkdownTable withHeaders(String... headers) {
        List<Align> a = new ArrayList<>();
        for (int i = 0; i < headers.length; i++) {
            a.add(i == 0 ? Align.LEFT : Align.RIGHT);
        }
        return new MarkdownTable(List.of(headers), a);
    }

    /** Sets column {@code i}'s alignment. */
    public MarkdownTable align(int column, Align align) {
        aligns.set(column, align);
        return this;
    }

    public MarkdownTable row(String... cells) {
        return row(List.of(cells));
    }

    public MarkdownTable row(List<String> cells) {
        if (cells.size() != headers.size()) {
            throw new IllegalArgumentException("row has " + cells.size() + " cells, table has " + headers.size()
                    + " columns");
        }
        rows.add(List.copyOf(cells));
        return this;
    }

    public int rowCount() {
        return rows.size();
    }

    public String render() {
        StringBuilder sb = new StringBuilder();
        line(sb, headers);
        List<String> sep = new ArrayList<>();
        for (Align a : aligns) {
            sep.add(a == Align.RIGHT ? "---:" : ":---");
        }
        sb.append('|');
        for (String s : sep) {
            sb.append(' ').append(s).append(" |");
        }
        sb.append('\n');
        for (List<String> r : rows) {
            line(sb, r);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells) {
        sb.append('|');
        for (String c : cells) {
            sb.append(' ').append(escape(c)).append(" |");
        }
        sb.append('\n');
    }

    static String escape(String cell) {
        String c = cell == null ? "" : cell;
        return c.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ");
    }
}
