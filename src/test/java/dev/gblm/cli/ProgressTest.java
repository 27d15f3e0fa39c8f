package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** {@link Progress}: the line's text, and in place on a terminal versus plain periodic lines in a log. */
class ProgressTest {
    static final long SECOND = 1_000_000_000L;

    final AtomicLong clock = new AtomicLong(0);
    final StringWriter text = new StringWriter();

    Progress progress(boolean terminal, long total) {
        return new Progress(new PrintWriter(text), terminal, clock::get, "eval", total, "sequences");
    }

    @Test
    void lineShowsCountPercentRateAndEta() {
        Progress p = progress(false, 100);
        assertThat(p.line(25, 10 * SECOND, "ppl 4.1911"))
                .isEqualTo("eval 25/100 sequences (25%), 2.5 sequences/s, ETA 30.0 s, ppl 4.1911");
        assertThat(p.line(100, 40 * SECOND, "")).isEqualTo("eval 100/100 sequences, 2.5 sequences/s, 40.0 s");
        assertThat(p.line(0, 0, "")).isEqualTo("eval 0/100 sequences (0%)");
    }

    @Test
    void slowWorkReadsAsSecondsPerItem() {
        assertThat(progress(false, 10).line(2, 50 * SECOND, ""))
                .isEqualTo("eval 2/10 sequences (20%), 25.0 s/sequence, ETA 3m20s");
    }

    @Test
    void durations() {
        assertThat(Progress.duration(4.24)).isEqualTo("4.2 s");
        assertThat(Progress.duration(185)).isEqualTo("3m05s");
        assertThat(Progress.duration(3720)).isEqualTo("1h02m");
    }

    @Test
    void numbersUseADotWhateverTheLocale() {
        Locale before = Locale.getDefault();
        Locale.setDefault(Locale.GERMANY);
        try {
            assertThat(progress(false, 100).line(25, 10 * SECOND, "")).contains("2.5 sequences/s", "ETA 30.0 s");
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void notOnATerminalPlainLinesEveryTenSecondsAndTheLast() {
        Progress p = progress(false, 100);
        for (int done = 1; done <= 100; done++) {
            clock.addAndGet(SECOND / 2); // 50 s in all: lines at 10, 20, 30, 40 s and the end
            p.update(done, "");
        }
        assertThat(text.toString()).doesNotContain("\r");
        assertThat(text.toString().lines()).containsExactly(
                "eval 20/100 sequences (20%), 2.0 sequences/s, ETA 40.0 s",
                "eval 40/100 sequences (40%), 2.0 sequences/s, ETA 30.0 s",
                "eval 60/100 sequences (60%), 2.0 sequences/s, ETA 20.0 s",
                "eval 80/100 sequences (80%), 2.0 sequences/s, ETA 10.0 s",
                "eval 100/100 sequences, 2.0 sequences/s, 50.0 s");
        assertThat(text.toString()).endsWith("\n");
    }

    @Test
    void onATerminalOneLineRewrittenInPlaceThenEnded() {
        Progress p = progress(true, 4);
        clock.set(SECOND);
        p.update(1, "ppl 10.0000");
        clock.set(SECOND + SECOND / 10); // under the redraw interval: nothing
        p.update(2, "ppl 9.0000");
        clock.set(3 * SECOND);
        p.update(3, "ppl 8");
        clock.set(4 * SECOND);
        p.update(4, "ppl 7");
        p.update(4, "ppl 7"); // after the end: nothing more
        String first = "eval 1/4 sequences (25%), 1.0 sequences/s, ETA 3.0 s, ppl 10.0000";
        String second = "eval 3/4 sequences (75%), 1.0 sequences/s, ETA 1.0 s, ppl 8";
        String last = "eval 4/4 sequences, 1.0 sequences/s, 4.0 s, ppl 7";
        assertThat(text.toString()).isEqualTo("\r" + first
                + "\r" + second + " ".repeat(first.length() - second.length())
                + "\r" + last + " ".repeat(second.length() - last.length()) + System.lineSeparator());
    }

    @Test
    void countsFromAGivenStart() {
        clock.set(10 * SECOND);
        Progress p = progress(false, 2).since(0);
        p.update(2, "");
        assertThat(text.toString().strip()).isEqualTo("eval 2/2 sequences, 5.0 s/sequence, 10.0 s");
    }
}
