package dev.gblm.report;

import java.util.Locale;

/** Number formats shared by the report's tables and sentences. */
final class Fmt {
    private Fmt() {}

    /** Perplexity: three decimals below 100 (dense is 4.184), one above; "—" for a missing value. */
    static String ppl(Double x) {
        if (x == null) {
            return "—";
        }
        if (Double.isNaN(x) || Double.isInfinite(x)) {
            return String.valueOf(x);
        }
        return String.format(Locale.ROOT, x < 100 ? "%.3f" : "%.1f", x);
    }

    static String seconds(double s) {
        return String.format(Locale.ROOT, s < 10 ? "%.2f" : "%.1f", s);
    }

    static String pct(double fraction) {
        return String.format(Locale.ROOT, "%.1f%%", fraction * 100);
    }

    static String factor(double f) {
        return String.format(Locale.ROOT, "%.1f×", f);
    }
}
