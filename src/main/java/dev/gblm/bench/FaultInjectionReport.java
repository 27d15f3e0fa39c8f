package dev.gblm.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one {@link FaultInjection} run did and found: the faults injected, the timings, and the verdict of each check
 * (a)-(e) plus the services' unexpected exits. {@link #summary()} is the block the bench command prints and the docs
 * quote.
 *
 * @param seed              the seed of the run
 * @param samples           valid calibration samples ingested (= the jobs' minSamples)
 * @param badSamples        poison records ingested among them (must end in gblm.dlq, exactly once)
 * @param workers           worker slots
 * @param model             how the model was described (path or generated shape)
 * @param kills             SIGKILLs per service (worker, finalizer, exporter), in that order
 * @param brokerDowntimes   per broker restart: seconds from stop() to the restarted broker answering
 * @param unexpectedExits   services that exited without being killed (restarted like killed ones)
 * @param secondsToExport   first ingested record to the last job's epoch exported (gblm.models), or null
 * @param killWindowSeconds seconds from the first to the last kill
 * @param totalSeconds      the whole run, set-up and checks included
 * @param checks            the verdicts, in order
 * @param workDir           the harness's working directory (broker data, logs, model, outputs)
 * @param workDirKept       whether it was kept (--keep-dir)
 */
public record FaultInjectionReport(long seed, int samples, int badSamples, int workers, String model,
        Map<String, Integer> kills, List<Double> brokerDowntimes, List<UnexpectedExit> unexpectedExits,
        Double secondsToExport, double killWindowSeconds, double totalSeconds, List<Check> checks, Path workDir,
        boolean workDirKept) {

    /** One assertion of the suite: a name, a verdict and a line of detail. */
    public record Check(String name, boolean ok, String detail) {}

    /** A service that exited on its own (not killed by the harness): its exit code and the end of its log. */
    public record UnexpectedExit(String child, int incarnation, double atSeconds, int exitCode, String logTail) {}

    public int totalKills() {
        return kills.values().stream().mapToInt(Integer::intValue).sum();
    }

    public int brokerRestarts() {
        return brokerDowntimes.size();
    }

    /** Every check passed. */
    public boolean passed() {
        return !checks.isEmpty() && checks.stream().allMatch(Check::ok);
    }

    /** The failed checks, one per line ("" when none). */
    public String failures() {
        List<String> out = new ArrayList<>();
        for (Check c : checks) {
            if (!c.ok()) {
                out.add(c.name() + ": " + c.detail());
            }
        }
        return String.join("\n", out);
    }

    /** The check whose name starts with {@code namePrefix}; a failed one saying so when the run never reached it. */
    public Check check(String namePrefix) {
        return checks.stream().filter(c -> c.name().startsWith(namePrefix)).findFirst()
                .orElse(new Check(namePrefix, false, "not reached: " + failures()));
    }

    /** The human-readable result block. */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "fault injection, seed %d: %d samples (+%d poison records), %d workers, "
                + "finalizer, exporter; model %s%n", seed, samples, badSamples, workers, model));
        StringBuilder perService = new StringBuilder();
        kills.forEach((k, v) -> perService.append(perService.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
        sb.append(row("SIGKILLs", String.format(Locale.ROOT, "%d (%s) over %.0f s, each followed by a restart",
                totalKills(), perService, killWindowSeconds)));
        StringBuilder downs = new StringBuilder();
        for (double d : brokerDowntimes) {
            downs.append(downs.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.1f s", d));
        }
        sb.append(row("broker restarts", brokerDowntimes.size() + (brokerDowntimes.isEmpty() ? "" : " (down " + downs + ")")));
        sb.append(row("unexpected exits", unexpectedExits.isEmpty() ? "0"
                : unexpectedExits.size() + " (" + String.join(", ", unexpectedExits.stream()
                        .map(u -> u.child() + " exit " + u.exitCode()).toList()) + ")"));
        sb.append(row("time to export", secondsToExport == null ? "not exported"
                : String.format(Locale.ROOT, "%.1f s (first ingested record -> last job's epoch 1 exported)", secondsToExport)));
        for (Check c : checks) {
            sb.append(String.format(Locale.ROOT, "  %-4s %-30s %s%n", c.ok() ? "OK" : "FAIL", c.name(), c.detail()));
        }
        sb.append(row("total", String.format(Locale.ROOT, "%.1f s; work dir %s %s", totalSeconds, workDir,
                workDirKept ? "kept" : "deleted")));
        sb.append(passed() ? "PASSED" : "FAILED").append(System.lineSeparator());
        for (UnexpectedExit u : unexpectedExits) {
            sb.append(String.format(Locale.ROOT, "--- %s (incarnation %d) exited with code %d at t+%.1f s; log ends:%n%s%n",
                    u.child(), u.incarnation(), u.exitCode(), u.atSeconds(), u.logTail()));
        }
        return sb.toString();
    }

    private static String row(String name, String value) {
        return String.format(Locale.ROOT, "  %-35s %s%n", name, value);
    }
}
