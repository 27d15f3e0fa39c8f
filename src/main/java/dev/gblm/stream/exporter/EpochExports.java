package dev.gblm.stream.exporter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.LinearKind;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.prune.Mask;
import dev.gblm.prune.batch.AlphaSearch;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.Ids;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.ModuleLayout;
import dev.gblm.stream.RecordFormatException;
import dev.gblm.stream.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exporter's state and file work, without Kafka: epochs being assembled, epochs done, the output directories,
 * and the records refused on the way ({@link #drainDeadLetters}), which {@link Exporter} sends to {@code gblm.dlq} in
 * the transaction that commits past them. {@link Exporter} feeds it records and commits what it says is safe.
 *
 * <p>Nothing a record says can stop the exporter or make it write outside {@code OUT}: an epoch record must pass
 * {@link EpochRecord#validate()} and describe exactly the linear modules of the exporter's model, and the first
 * valid record of a job/epoch is its declaration (a different second one is refused as {@code conflicting-epoch};
 * once exported, the declaration is read back from the directory's {@code report.json}). Mask blocks are judged by
 * {@link EpochAssembly}. Directories are only built by {@link #epochDir}.
 *
 * <p>A failing export (disk full, a file where the directory should be) keeps its epoch pending and is retried with
 * backoff; after {@link #FAILURES_BEFORE_DOWN} failures in a row {@link #stuck()} says so, and the exporter reports
 * itself down.
 */
public final class EpochExports {
    private static final Logger LOG = LoggerFactory.getLogger(EpochExports.class);
    /** Consecutive failed attempts at one epoch after which the exporter is reported down. */
    static final int FAILURES_BEFORE_DOWN = 3;
    private static final long FIRST_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Canonical JSON for {@link #declaration}: map entries sorted so equal records hash equally. */
    private static final ObjectMapper CANONICAL = Json.mapper().copy().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    /** A refused record for {@code gblm.dlq}: original key and value, its finalizer header, reason, source. */
    record DeadLetter(String key, byte[] value, String finalizer, String reason, String detail, String source) {}

    private record Failure(int count, long retryAt, String message) {}

    private final Path outDir;
    private final Checkpoint model;
    private final Path tokenizer;
    private final LongSupplier nanoClock;
    private final Map<String, EpochAssembly> pending = new LinkedHashMap<>();
    /** job/epoch → {@link #declaration} of the record accepted for it (assembling or done) */
    private final Map<String, String> declared = new HashMap<>();
    private final Set<String> done = new HashSet<>();
    private final List<DeadLetter> deadLetters = new ArrayList<>();
    private final Map<String, Failure> failures = new HashMap<>();
    private volatile String stuck;
    private final MeterRegistry meters;
    private final Counter exported;
    private final Counter skippedExisting;
    private final Counter rewritten;
    private final Counter exportFailures;
    private final Timer exportTime;
    private final Timer latency;
    private final Map<String, AtomicLong> sparsityGauges = new ConcurrentHashMap<>();
    /** job → [last exported epoch, its export time in ms], read by the per-job gauges */
    private final Map<String, long[]> lastExports = new ConcurrentHashMap<>();
    /** held-out perplexity per epoch of jobs with hold-out; null = not measured */
    private HeldOutEvaluator heldOut;

    public EpochExports(Path outDir, Checkpoint model, Path tokenizer, MeterRegistry meters) {
        this(outDir, model, tokenizer, meters, System::nanoTime);
    }

    /** @param nanoClock monotonic time for the retry backoff (tests pass their own) */
    EpochExports(Path outDir, Checkpoint model, Path tokenizer, MeterRegistry meters, LongSupplier nanoClock) {
        this.outDir = outDir.toAbsolutePath().normalize();
        this.model = model;
        this.tokenizer = tokenizer;
        this.meters = meters;
        this.nanoClock = nanoClock;
        this.exported = Counter.builder("gblm.exporter.epochs.exported").description("epochs written to the output directory")
                .register(meters);
        this.skippedExisting = Counter.builder("gblm.exporter.epochs.existing")
                .description("completed epochs whose output directory already existed complete (replays), not rewritten")
                .register(meters);
        this.rewritten = Counter.builder("gblm.exporter.epochs.rewritten")
                .description("epochs whose existing output directory failed verification and was written again").register(meters);
        this.exportFailures = Counter.builder("gblm.exporter.export.failures")
                .description("failed attempts to write an epoch's output (retried with backoff)").register(meters);
        this.exportTime = Timer.builder("gblm.exporter.export.time").description("time to write and fsync one epoch's output")
                .serviceLevelObjectives(GblmMetrics.buckets(GblmMetrics.EXPORT_BUCKETS)).register(meters);
        this.latency = Timer.builder("gblm.exporter.end.to.end.latency")
                .description("from the epoch's last calibration sample (record timestamp) to its durable export")
                .serviceLevelObjectives(GblmMetrics.buckets(GblmMetrics.LATENCY_BUCKETS)).register(meters);
        Gauge.builder("gblm.exporter.epochs.assembling", pending, Map::size)
                .description("epochs whose mask blocks are being collected").register(meters);
        Gauge.builder("gblm.exporter.epochs.failing", failures, Map::size)
                .description("complete epochs whose last export attempt failed").register(meters);
    }

    /** Subdirectory of OUT that holds one directory per team: {@code OUT/teams/<team>/<job>/epoch-<n>}. */
    public static final String TEAMS_DIR = "teams";

    /** {@link #epochDir(Path, String, String, int)} for a job without a team. */
    public static Path epochDir(Path outDir, String job, int epoch) {
        return epochDir(outDir, null, job, epoch);
    }

    /**
     * Directory of an epoch's output, {@code OUT/<job>/epoch-<n>}, or {@code OUT/teams/<team>/<job>/epoch-<n>} for a
     * team's job, so each team's models sit under one directory an operator can give to that team alone: the only way
     * the exporter builds one. Refuses (with {@link GblmException}) a job id that {@link Ids} calls unsafe, a job
     * without team named {@value #TEAMS_DIR}, an invalid team, an epoch below 1, and a path that leaves {@code OUT}
     * after normalization or through a symbolic link already on disk.
     */
    public static Path epochDir(Path outDir, String team, String job, int epoch) {
        Ids.requireSafe("job id", job);
        if (epoch < 1) {
            throw new GblmException("bad epoch " + epoch + " of job " + job);
        }
        if (team == null && job.equals(TEAMS_DIR)) {
            throw new GblmException("job id '" + TEAMS_DIR + "' is reserved for the teams' export directories");
        }
        Path base = outDir.toAbsolutePath().normalize();
        Path root = team == null ? base : base.resolve(TEAMS_DIR).resolve(Topics.requireTeam(team)).normalize();
        Path dir = root.resolve(job).resolve("epoch-" + epoch).normalize();
        if (!dir.startsWith(root) || dir.getNameCount() != root.getNameCount() + 2) {
            throw new GblmException("epoch directory " + dir + " would be outside " + root);
        }
        try {
            for (Path p = dir.getParent(); p != null && !p.equals(base); p = p.getParent()) {
                if (Files.exists(p) && !p.toRealPath().startsWith(base.toRealPath())) {
                    throw new GblmException("epoch directory " + dir + " leads outside " + base + " (through " + p + ")");
                }
            }
            if (Files.isSymbolicLink(dir)) {
                throw new GblmException("epoch directory " + dir + " is a symbolic link");
            }
        } catch (IOException e) {
            throw new GblmException("cannot check " + dir + ": " + e.getMessage());
        }
        return dir;
    }

    /** Measures each exported epoch of a job with hold-out on its held-out samples (report.json, model-ready event). */
    void heldOut(HeldOutEvaluator evaluator) {
        this.heldOut = evaluator;
    }

    public int pendingEpochs() {
        return pending.size();
    }

    /** Why the exporter cannot make progress (an epoch failing again and again), or null. Any thread. */
    public String stuck() {
        return stuck;
    }

    /** The records refused since the last call, for {@code gblm.dlq}, oldest first. */
    List<DeadLetter> drainDeadLetters() {
        List<DeadLetter> out = List.copyOf(deadLetters);
        deadLetters.clear();
        return out;
    }

    /**
     * Deletes what killed writers left under {@code OUT/<job>/} and {@code OUT/teams/<team>/<job>/} (the writer's
     * {@code .tmp-} and {@code .old-} directories): the directory they were meant to become is absent or complete,
     * and a held offset replays the epoch if it is absent. Call before the first export, with any older writer
     * fenced. Also sets the per-job last-export gauges from the complete exports found, so they survive a restart of
     * the exporter.
     */
    public int removeLeftovers() {
        int n = removeLeftovers(outDir);
        Path teams = outDir.resolve(TEAMS_DIR);
        if (Files.isDirectory(teams, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(teams)) {
                for (Path team : s.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                    n += removeLeftovers(team);
                }
            } catch (IOException e) {
                LOG.warn("cannot scan {} for leftover temporary directories: {}", teams, e.getMessage());
            }
        }
        return n;
    }

    /** {@link #removeLeftovers()} in the job directories directly under {@code root}. */
    private int removeLeftovers(Path root) {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        int n = 0;
        try (Stream<Path> jobs = Files.list(root)) {
            for (Path jobDir : jobs.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).toList()) {
                if (root.equals(outDir) && jobDir.getFileName().toString().equals(TEAMS_DIR)) {
                    continue;
                }
                try (Stream<Path> s = Files.list(jobDir)) {
                    for (Path p : s.filter(x -> Files.isDirectory(x, LinkOption.NOFOLLOW_LINKS)).toList()) {
                        if (PrunedModelWriter.isLeftover(p)) {
                            LOG.info("removing {} left by an interrupted export", p);
                            deleteTree(p);
                            n++;
                        }
                    }
                }
                seedLastExport(jobDir);
            }
        } catch (IOException e) {
            LOG.warn("cannot scan {} for leftover temporary directories: {}", root, e.getMessage());
        }
        return n;
    }

    private void reject(String key, byte[] value, String finalizer, String reason, String detail, String source) {
        LOG.warn("refusing {} at {} ({}): {}", key, source, reason, detail);
        Counter.builder("gblm.exporter.rejected").tag("reason", reason).description("epoch records and mask blocks refused (sent to the DLQ)")
                .register(meters).increment();
        deadLetters.add(new DeadLetter(key, value, finalizer, reason, detail, source));
    }

    private void refused(List<EpochAssembly.Refusal> rs) {
        for (EpochAssembly.Refusal r : rs) {
            EpochAssembly.Arrival a = r.arrival();
            reject(a.key(), a.value(), a.finalizer(), r.reason(), r.detail(), a.partition() + "@" + a.offset());
        }
    }

    /** A record of {@code gblm.epochs}; {@code key} is the record key (the job id). */
    public void epochRecord(String key, byte[] value, String partition, long offset) {
        try {
            acceptEpochRecord(key, value, partition, offset);
        } catch (RuntimeException ex) {
            // a record this code cannot handle must not stop the exporter and then be replayed into the same failure
            LOG.error("cannot process epoch record {} at {}@{}", key, partition, offset, ex);
            reject(key, value, null, "unprocessable", String.valueOf(ex), partition + "@" + offset);
        }
    }

    private void acceptEpochRecord(String key, byte[] value, String partition, long offset) {
        String source = partition + "@" + offset;
        EpochRecord e;
        try {
            e = Json.read(value, EpochRecord.class);
        } catch (RecordFormatException ex) {
            reject(key, value, null, "bad-epoch-record", ex.getMessage(), source);
            return;
        }
        try {
            e.validate();
        } catch (RecordFormatException ex) {
            reject(key, value, e.finalizer(), "invalid-epoch-record", ex.getMessage(), source);
            return;
        }
        if (key != null && !key.equals(e.job())) {
            reject(key, value, e.finalizer(), "key-mismatch", "epoch record of job " + e.job() + " under key " + key, source);
            return;
        }
        String layoutProblem = layoutProblem(e);
        if (layoutProblem != null) {
            reject(key, value, e.finalizer(), "wrong-layout", "epoch " + e.job() + "/" + e.epoch() + ": " + layoutProblem, source);
            return;
        }
        String id = e.job() + "/" + e.epoch();
        Path dir;
        try {
            dir = epochDir(outDir, e.spec().team(), e.job(), e.epoch());
        } catch (GblmException ex) {
            reject(key, value, e.finalizer(), "unsafe-path", ex.getMessage(), source);
            return;
        }
        String mine = declaration(e);
        String first = declared.get(id);
        if (first == null) {
            String exported = exportedDeclaration(dir);
            if (exported != null && !exported.equals(mine)) {
                // exported earlier from another declaration: that one was first; its blocks are no longer needed
                first = exported;
                declared.put(id, exported);
                done.add(id);
                EpochAssembly gone = pending.remove(id);
                if (gone != null) {
                    LOG.info("dropping {} blocks buffered for {}: already exported from another declaration",
                            gone.blocksReceived(), id);
                }
            }
        }
        if (first != null) {
            if (!first.equals(mine)) {
                reject(key, value, e.finalizer(), "conflicting-epoch", "epoch " + id + " declared again (finalizer "
                        + e.finalizer() + ", declared at " + e.declaredAt() + "); the first declaration seen wins", source);
            }
            return; // otherwise the same declaration again (a replay)
        }
        declared.put(id, mine);
        EpochAssembly a = pending.computeIfAbsent(id, k -> new EpochAssembly(e.job(), e.epoch()));
        a.hold(partition, offset);
        refused(a.setRecord(e));
    }

    /**
     * Null when the layout lists every linear module of the exporter's model exactly once with the model's shape;
     * otherwise what is wrong. A record that passes cannot make the exporter write a dense or partial model.
     */
    private String layoutProblem(EpochRecord e) {
        int layers = model.config().numLayers();
        Set<String> seen = new HashSet<>();
        for (ModuleLayout m : e.blocks()) {
            String name = "layer " + m.layer() + " " + m.module();
            if (m.layer() >= layers) {
                return name + " but the model has " + layers + " layers";
            }
            if (!seen.add(m.layer() + "/" + m.kind().shortName())) {
                return name + " is listed twice";
            }
            long[] shape = model.tensor(m.kind().weightName(m.layer())).shape();
            if (shape.length != 2 || shape[0] != m.out() || shape[1] != m.in()) {
                return name + " is " + m.out() + "x" + m.in() + ", the model's weight is "
                        + (shape.length == 2 ? shape[0] + "x" + shape[1] : java.util.Arrays.toString(shape));
            }
        }
        int expected = layers * LinearKind.values().length;
        if (seen.size() != expected) {
            return "the layout covers " + seen.size() + " of the model's " + expected + " linear modules";
        }
        return null;
    }

    /**
     * A record of {@code gblm.masks}.
     *
     * @param finalizer header {@code gblm.finalizer} (null when absent)
     */
    public void maskBlock(String key, byte[] value, String finalizer, String partition, long offset) {
        maskBlock(key, value, finalizer, null, partition, offset);
    }

    /**
     * A record of {@code gblm.masks}.
     *
     * @param finalizer header {@code gblm.finalizer} (null when absent)
     * @param alpha     header {@code gblm.alpha}, the grid index of an alpha=auto epoch's block (null when absent)
     */
    public void maskBlock(String key, byte[] value, String finalizer, String alpha, String partition, long offset) {
        try {
            acceptMaskBlock(key, value, finalizer, alpha, partition, offset);
        } catch (RuntimeException ex) {
            LOG.error("cannot process mask block {} at {}@{}", key, partition, offset, ex);
            reject(key, value, finalizer, "unprocessable", String.valueOf(ex), partition + "@" + offset);
        }
    }

    private void acceptMaskBlock(String key, byte[] value, String finalizer, String alpha, String partition, long offset) {
        String source = partition + "@" + offset;
        String[] parts = key == null ? new String[0] : key.split("/", -1);
        int epoch;
        int layer;
        LinearKind module;
        int rowStart;
        try {
            if (parts.length != 5 || !Ids.isSafe(parts[0])) {
                throw new IllegalArgumentException();
            }
            epoch = Integer.parseInt(parts[1]);
            layer = Integer.parseInt(parts[2]);
            module = LinearKind.fromShortName(parts[3]);
            rowStart = Integer.parseInt(parts[4]);
            if (epoch < 1) {
                throw new IllegalArgumentException();
            }
        } catch (IllegalArgumentException ex) {
            reject(key, value, finalizer, "bad-mask-key", "mask record key '" + key
                    + "' is not <job>/<epoch>/<layer>/<module>/<rowStart> with a safe job id", source);
            return;
        }
        String job = parts[0];
        if (done.contains(job + "/" + epoch)) {
            return;
        }
        MaskBlock b;
        try {
            b = MaskBlock.decode(value);
        } catch (RecordFormatException ex) {
            reject(key, value, finalizer, "corrupt-mask-block", ex.getMessage(), source);
            return;
        }
        if (b.layer() != layer || b.module() != module || b.rowStart() != rowStart) {
            reject(key, value, finalizer, "key-mismatch", "mask block of layer " + b.layer() + " " + b.module().shortName()
                    + " row " + b.rowStart() + " under key " + key, source);
            return;
        }
        EpochAssembly a = pending.computeIfAbsent(job + "/" + epoch, k -> new EpochAssembly(job, epoch));
        EpochAssembly.Refusal r = a.add(new EpochAssembly.Arrival(key, value, b, finalizer, alpha, partition, offset));
        if (r != null) {
            refused(List.of(r));
        }
    }

    /**
     * Exports every complete epoch (skipping the write when its directory already holds a verified export) and
     * forgets it. An epoch whose export fails stays pending and is retried after a backoff.
     */
    public List<ModelReady> exportComplete() {
        List<ModelReady> out = new ArrayList<>();
        long now = nanoClock.getAsLong();
        for (var it = pending.values().iterator(); it.hasNext();) {
            EpochAssembly a = it.next();
            if (!a.complete()) {
                continue;
            }
            Failure f = failures.get(a.id());
            if (f != null && now - f.retryAt() < 0) {
                continue;
            }
            ModelReady m;
            try {
                m = export(a);
            } catch (RuntimeException e) {
                failed(a, f, now, e);
                continue;
            }
            if (f != null) {
                LOG.info("epoch {} exported after {} failed attempts", a.id(), f.count());
                failures.remove(a.id());
            }
            out.add(m);
            done.add(a.id());
            it.remove();
        }
        updateStuck();
        return out;
    }

    private void failed(EpochAssembly a, Failure previous, long now, RuntimeException e) {
        int count = previous == null ? 1 : previous.count() + 1;
        long backoff = Math.min(MAX_BACKOFF_NANOS, FIRST_BACKOFF_NANOS << Math.min(count - 1, 16));
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        failures.put(a.id(), new Failure(count, now + backoff, message));
        exportFailures.increment();
        if (count >= FAILURES_BEFORE_DOWN) {
            LOG.error("cannot export epoch {} ({} attempts), retrying in {} s", a.id(), count, backoff / 1_000_000_000L, e);
        } else {
            LOG.warn("cannot export epoch {} (attempt {}), retrying in {} s: {}", a.id(), count, backoff / 1_000_000_000L, message);
        }
    }

    private void updateStuck() {
        String s = null;
        for (Map.Entry<String, Failure> e : failures.entrySet()) {
            if (e.getValue().count() >= FAILURES_BEFORE_DOWN) {
                s = "cannot export epoch " + e.getKey() + ": " + e.getValue().count() + " failed attempts in a row, last: "
                        + e.getValue().message();
                break;
            }
        }
        stuck = s;
    }

    private ModelReady export(EpochAssembly a) {
        EpochRecord e = a.record();
        Path dir = epochDir(outDir, e.spec().team(), e.job(), e.epoch());
        long t0 = System.nanoTime();
        boolean exists = Files.exists(dir, LinkOption.NOFOLLOW_LINKS);
        String problem = exists ? PrunedModelWriter.incompleteReason(dir) : null;
        boolean written = false;
        ObjectNode report;
        Map<ModuleKey, Mask> masks = null;
        if (exists && problem == null) {
            skippedExisting.increment();
            report = readReport(dir);
        } else {
            if (exists) {
                // a directory without a verified marker is an interrupted or damaged export (or not ours): replace it
                LOG.warn("{} is not a complete export ({}): writing it again", dir, problem);
            }
            Choice choice = e.spec().isAutoAlpha() ? chooseAlpha(e, a) : null;
            masks = choice == null ? a.masks() : choice.masks();
            Path prev = e.epoch() > 1 ? epochDir(outDir, e.spec().team(), e.job(), e.epoch() - 1).resolve(PrunedModelWriter.MASKS_FILE) : null;
            Double drift;
            try {
                // an alpha=auto epoch: the chosen masks against the previous epoch's chosen ones (its masks.bin)
                drift = ExportReport.drift(prev, masks);
            } catch (RuntimeException ex) {
                // a damaged previous export must not keep this one from being written; drift is only a statistic
                LOG.warn("cannot compare {} with {}: {}", e.job() + "/" + e.epoch(), prev, ex.getMessage());
                drift = null;
            }
            ObjectNode fresh = ExportReport.of(e, drift, System.currentTimeMillis());
            ObjectNode quality;
            if (choice != null) {
                ExportReport.addAutoAlpha(fresh, e, choice.outcome(), choice.index(), choice.fallback(), choice.heldOut());
                quality = choice.heldOut();
            } else {
                quality = heldOut == null ? null : heldOut.evaluate(e, masks);
            }
            if (quality != null) {
                // in the report written atomically with the export, so a replay reads it back, never recomputes it
                fresh.set(HeldOutEvaluator.REPORT_FIELD, quality);
            }
            report = PrunedModelWriter.write(dir, exists, model, masks, PrunedModelWriter.UpdatedWeights.NONE, fresh,
                    tokenizer);
            written = true;
            exported.increment();
            if (exists) {
                rewritten.increment();
            }
        }
        long exportedAt = System.currentTimeMillis();
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (written) {
            exportTime.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
            if (e.lastSampleTimestamp() > 0) {
                latency.record(Math.max(0, exportedAt - e.lastSampleTimestamp()), TimeUnit.MILLISECONDS);
            }
            EpochAssembly.sparsity(masks).forEach((module, s) -> gauge(e.job(), module).set(Double.doubleToLongBits(s)));
        }
        long at = written ? exportedAt : report.path("timestamps").path("exported").asLong(exportedAt);
        lastExported(e.job(), e.epoch(), at);
        double overall = report.path("sparsity").path("overall").asDouble(Double.NaN);
        Double drift = report.path("drift").isNumber() ? report.path("drift").asDouble() : null;
        JsonNode quality = report.get(HeldOutEvaluator.REPORT_FIELD);
        if (heldOut != null) {
            heldOut.record(e.job(), e.epoch(), quality);
        }
        Double heldOutPpl = HeldOutEvaluator.perplexity(quality, "perplexity");
        // an alpha=auto epoch's choice, as written into report.json (a replay reads it back, never chooses again)
        JsonNode auto = report.get(ExportReport.AUTO_ALPHA);
        return new ModelReady(e.job(), e.epoch(), dir.toString(), e.samples(), e.tokens(), overall,
                e.streams(), e.sliceIds().size(), e.profile(), drift, e.lastSampleTimestamp(), e.declaredAt(), exportedAt,
                seconds, written, heldOutPpl, HeldOutEvaluator.perplexity(quality, "densePerplexity"),
                heldOutPpl == null ? null : quality.path("samples").asInt(), ExportReport.chosenAlpha(auto),
                ExportReport.alphaGrid(auto));
    }

    /**
     * The choice of an {@code alpha=auto} epoch: the grid point whose masks give the lowest held-out perplexity.
     *
     * @param index    the chosen grid point
     * @param fallback no point had a finite perplexity (nothing held out yet, or no evaluator): the smallest alpha
     * @param heldOut  the chosen point's {@code heldOut} report object (null when nothing was evaluated)
     */
    private record Choice(Map<ModuleKey, Mask> masks, int index, boolean fallback, ObjectNode heldOut,
            AlphaSearch.Outcome outcome) {}

    /**
     * Evaluates every grid point's masks of a complete alpha=auto epoch on the job's held-out samples and chooses by
     * the batch search's rule ({@link AlphaSearch#choose}: lowest perplexity, ties to the smaller alpha).
     */
    private Choice chooseAlpha(EpochRecord e, EpochAssembly a) {
        List<Double> grid = e.spec().alphaGridValues();
        List<Map<ModuleKey, Mask>> candidates = new ArrayList<>(grid.size());
        for (int i = 0; i < grid.size(); i++) {
            candidates.add(a.masks(i));
        }
        List<ObjectNode> evaluated = heldOut == null ? null : heldOut.evaluateEach(e, candidates);
        List<AlphaSearch.Point> points = new ArrayList<>(grid.size());
        for (int i = 0; i < grid.size(); i++) {
            JsonNode q = evaluated == null ? null : evaluated.get(i);
            points.add(new AlphaSearch.Point(grid.get(i), number(q, "perplexity"), number(q, "meanNll"),
                    q == null ? 0 : q.path("tokens").asLong(0), Mask.overallSparsity(candidates.get(i).values()),
                    q == null ? 0 : q.path("seconds").asDouble(0)));
        }
        int chosen = AlphaSearch.choose(points);
        boolean fallback = chosen < 0;
        if (fallback) {
            chosen = 0;
            LOG.warn("job {} epoch {}: no alpha of the grid has a finite held-out perplexity, exporting the smallest ({})",
                    e.job(), e.epoch(), AlphaSearch.number(grid.get(0)));
        } else {
            LOG.info("job {} epoch {}: alpha {} chosen by held-out perplexity{}{}", e.job(), e.epoch(),
                    AlphaSearch.number(grid.get(chosen)), System.lineSeparator(), AlphaSearch.table(
                            new AlphaSearch.Outcome(points, points.get(chosen), true, null)));
        }
        return new Choice(candidates.get(chosen), chosen, fallback, evaluated == null ? null : evaluated.get(chosen),
                new AlphaSearch.Outcome(List.copyOf(points), points.get(chosen), true, null));
    }

    private static double number(JsonNode q, String field) {
        JsonNode v = q == null ? null : q.get(field);
        return v != null && v.isNumber() ? v.asDouble() : Double.NaN;
    }

    /**
     * Per-job gauges {@code gblm.exporter.job.last.epoch} and {@code gblm.exporter.job.last.export.timestamp} (seconds
     * since the epoch): the highest epoch of the job this exporter has exported (or found exported, on a replay) and
     * when it was written.
     */
    private void lastExported(String job, int epoch, long atMs) {
        long[] last = lastExports.computeIfAbsent(job, k -> {
            long[] v = {0, 0};
            Gauge.builder("gblm.exporter.job.last.epoch", v, x -> x[0]).tag(GblmMetrics.JOB_TAG, job)
                    .description("highest epoch of the job exported (written or found complete)").register(meters);
            Gauge.builder("gblm.exporter.job.last.export.timestamp", v, x -> x[1] / 1000.0).tag(GblmMetrics.JOB_TAG, job)
                    .baseUnit("seconds").description("when that epoch was exported (Unix time)").register(meters);
            return v;
        });
        synchronized (last) {
            if (epoch >= last[0]) {
                last[1] = atMs;
                last[0] = epoch;
            }
        }
    }

    /** The highest complete {@code epoch-<n>} under a job's directory, reported by the last-export gauges. */
    private void seedLastExport(Path jobDir) {
        String job = jobDir.getFileName().toString();
        if (!Ids.isSafe(job)) {
            return;
        }
        try {
            seedLastExport(job, jobDir);
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot read the exports of {} for the last-export gauges: {}", jobDir, e.getMessage());
        }
    }

    private void seedLastExport(String job, Path jobDir) throws IOException {
        int best = 0;
        Path bestDir = null;
        try (Stream<Path> s = Files.list(jobDir)) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (!name.matches("epoch-[1-9][0-9]{0,8}")
                        || !Files.isRegularFile(p.resolve(PrunedModelWriter.COMPLETE_FILE), LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                int epoch = Integer.parseInt(name.substring("epoch-".length()));
                if (epoch > best) {
                    best = epoch;
                    bestDir = p;
                }
            }
        }
        if (bestDir != null) {
            long at = readReport(bestDir).path("timestamps").path("exported").asLong(0);
            lastExported(job, best, at > 0 ? at : Files.getLastModifiedTime(bestDir).toMillis());
        }
    }

    private AtomicLong gauge(String job, String module) {
        return sparsityGauges.computeIfAbsent(job + "|" + module, k -> {
            AtomicLong v = new AtomicLong();
            Gauge.builder("gblm.exporter.sparsity", v, x -> Double.longBitsToDouble(x.get())).tag(GblmMetrics.JOB_TAG, job)
                    .tag("module", module).description("achieved sparsity of a module in the job's latest exported epoch")
                    .register(meters);
            return v;
        });
    }

    /**
     * The offset the consumer may commit on a partition: before the first record still held by an epoch being
     * assembled, else the consumer position.
     */
    public long safeOffset(String partition, long position) {
        long safe = position;
        for (EpochAssembly a : pending.values()) {
            Long o = a.minOffsets().get(partition);
            if (o != null) {
                safe = Math.min(safe, o);
            }
        }
        return safe;
    }

    /** SHA-256 of the record's canonical JSON: two records are the same declaration when these are equal. */
    static String declaration(EpochRecord e) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(CANONICAL.writeValueAsBytes(e)));
        } catch (NoSuchAlgorithmException | IOException ex) {
            throw new IllegalStateException("cannot hash epoch record", ex);
        }
    }

    /** The declaration an existing export was made from (its report.json), or null when unknown. */
    private static String exportedDeclaration(Path dir) {
        Path report = dir.resolve(PrunedModelWriter.REPORT_FILE);
        if (!Files.isRegularFile(report, LinkOption.NOFOLLOW_LINKS)
                || !Files.isRegularFile(dir.resolve(PrunedModelWriter.COMPLETE_FILE), LinkOption.NOFOLLOW_LINKS)) {
            return null;
        }
        JsonNode d = readReport(dir).path(ExportReport.DECLARATION);
        return d.isTextual() ? d.asText() : null;
    }

    private static ObjectNode readReport(Path dir) {
        try {
            return (ObjectNode) Json.mapper().readTree(dir.resolve(PrunedModelWriter.REPORT_FILE).toFile());
        } catch (IOException | ClassCastException e) {
            return Json.mapper().createObjectNode();
        }
    }

    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
