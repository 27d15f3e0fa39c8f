package dev.gblm.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A progress line for a known amount of work: done/total, percent, rate and ETA. On a terminal the line is
 * rewritten in place with {@code \r}; otherwise (a pipe, a log file, CI) a plain line is printed every
 * {@link #PLAIN_INTERVAL_NANOS}, because carriage returns garble logs. The last update always ends its line.
 */
final class Progress {
    /** A redraw on a terminal at most this often: enough to look alive, cheap enough for per-sample calls. */
    static final long TERMINAL_INTERVAL_NANOS = 500_000_000L;
    /** A log line at most this often when not on a terminal. */
    static final long PLAIN_INTERVAL_NANOS = 10_000_000_000L;

    private final PrintWriter out;
    private final boolean terminal;
    private final LongSupplier clock;
    private final String label;
    private final long total;
    private final String unit;
    private long start;
    private long lastPrinted;
    private int lastWidth;
    private boolean finished;

    Progress(PrintWriter out, boolean terminal, LongSupplier nanoClock, String label, long total, String unit) {
        this.out = out;
        this.terminal = terminal;
        this.clock = nanoClock;
        this.label = label;
        this.total = total;
        this.unit = unit;
        this.start = nanoClock.getAsLong();
        this.lastPrinted = start;
    }

    /** Counts rate and elapsed time from {@code startNanos} (same clock) instead of from construction. */
    Progress since(long startNanos) {
        start = startNanos;
        lastPrinted = startNanos;
        return this;
    }

    /** Progress on {@code err}, in place when the process runs on a terminal. */
    static Progress on(PrintWriter err, String label, long total, String unit) {
        return new Progress(err, onTerminal(), System::nanoTime, label, total, unit);
    }

    /**
     * Whether the process talks to a terminal. Java 17 cannot ask about stderr alone; the console exists when
     * stdin and stdout are a terminal, which is the interactive case this is meant for.
     */
    static boolean onTerminal() {
        return System.console() != null;
    }

    /** {@code done} of the total are complete; {@code detail} (may be empty) is appended, e.g. a running loss. */
    void update(long done, String detail) {
        if (finished) {
            return;
        }
        long now = clock.getAsLong();
        boolean last = done >= total;
        long interval = terminal ? TERMINAL_INTERVAL_NANOS : PLAIN_INTERVAL_NANOS;
        if (!last && now - lastPrinted < interval) {
            return;
        }
        lastPrinted = now;
        String line = line(done, now - start, detail);
        if (terminal) {
            // spaces over what is left of a longer previous line
            int pad = Math.max(0, lastWidth - line.length());
            out.print("\r" + line + " ".repeat(pad));
            lastWidth = line.length();
            if (last) {
                out.println();
            }
        } else {
            out.println(line);
        }
        out.flush();
        finished = last;
    }

    /** The text of one update: {@code label done/total unit (p%), rate, ETA or elapsed[, detail]}. */
    String line(long done, long elapsedNanos, String detail) {
        double seconds = elapsedNanos / 1e9;
        StringBuilder sb = new StringBuilder();
        sb.append(label).append(' ').append(done).append('/').append(total).append(' ').append(unit);
        if (done < total && total > 0) {
            sb.append(String.format(Locale.ROOT, " (%d%%)", done * 100 / total));
        }
        if (done > 0 && seconds > 0) {
            double rate = done / seconds;
            sb.append(", ").append(rate(rate));
            if (done < total) {
                sb.append(", ETA ").append(duration((total - done) / rate));
            } else {
                sb.append(", ").append(duration(seconds));
            }
        }
        if (detail != null && !detail.isEmpty()) {
            sb.append(", ").append(detail);
        }
        return sb.toString();
    }

    private String rate(double perSecond) {
        // slow work (a large model on a CPU) reads better as seconds per item than as 0.0 items/s
        if (perSecond >= 1) {
            return String.format(Locale.ROOT, "%.1f %s/s", perSecond, unit);
        }
        return String.format(Locale.ROOT, "%.1f s/%s", 1 / perSecond, singular(unit));
    }

    private static String singular(String unit) {
        return unit.endsWith("s") ? unit.substring(0, unit.length() - 1) : unit;
    }

    /** {@code 4.2 s}, {@code 3m05s}, {@code 1h02m}. */
    static String duration(double seconds) {
        if (seconds < 60) {
            return String.format(Locale.ROOT, "%.1f s", seconds);
        }
        long s = Math.round(seconds);
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
