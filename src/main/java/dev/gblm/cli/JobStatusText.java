package dev.gblm.cli;

import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.JobStatus;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.job.JobClient;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** The text of {@code gblm job status}: what a user asks first (is it refused? how far is the next epoch?) on top. */
final class JobStatusText {
    private JobStatusText() {}

    static String render(JobClient.Report r) {
        StringBuilder b = new StringBuilder();
        JobSpec j = r.spec();
        b.append("job ").append(r.id());
        if (j == null) {
            b.append(" (deleted: no current definition)");
        } else {
            b.append(j.team() == null ? "" : " (team " + j.team() + ")").append(String.format(Locale.ROOT,
                    ": %s %s sparsity %.3f, streams %s, profile %s", j.method(), j.pattern(), j.sparsity(),
                    String.join(",", j.streams()), j.profile()));
        }
        b.append('\n');
        JobStatus s = r.status();
        if (s == null) {
            b.append("state: unknown (the finalizer has not reported on it: no samples of its profile yet, or no finalizer runs)\n");
        } else {
            b.append("state: ").append(s.state().label());
            if (s.reason() != null) {
                b.append(" — ").append(s.reason());
            }
            b.append('\n');
            if (s.nextEpochAt() > 0) {
                b.append(String.format(Locale.ROOT, "next epoch (%d): %d of %d new samples%n", s.epoch() + 1, s.samples(),
                        s.nextEpochAt()));
            } else {
                b.append("no further epoch (a one-epoch job)\n");
            }
        }
        Map<Integer, ModelReady> models = new HashMap<>();
        for (ModelReady m : r.models()) {
            models.put(m.epoch(), m);
        }
        if (r.epochs().isEmpty()) {
            b.append("epochs: none yet\n");
        }
        for (EpochRecord e : r.epochs()) {
            b.append(String.format(Locale.ROOT, "epoch %d: %d samples, %d slices", e.epoch(), e.samples(), e.sliceIds().size()));
            ModelReady m = models.get(e.epoch());
            if (m == null) {
                b.append(", not exported yet");
            } else {
                b.append(String.format(Locale.ROOT, ", exported to %s (sparsity %.4f%s%s%s)", m.path(), m.sparsity(),
                        m.drift() == null ? "" : String.format(Locale.ROOT, ", drift %.4f", m.drift()),
                        m.heldOutPerplexity() == null ? "" : String.format(Locale.ROOT, ", held-out perplexity %.3f (dense %s, %d samples)",
                                m.heldOutPerplexity(), m.denseHeldOutPerplexity() == null ? "-"
                                        : String.format(Locale.ROOT, "%.3f", m.denseHeldOutPerplexity()), m.heldOutSamples()),
                        m.alphaGrid() == null ? "" : ", alpha " + m.alpha() + " chosen from " + m.alphaGrid().size() + " by held-out perplexity"));
            }
            b.append('\n');
        }
        return b.toString().stripTrailing();
    }
}
