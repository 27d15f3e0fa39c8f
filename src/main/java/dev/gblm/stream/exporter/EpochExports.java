package dev.gblm.stream.exporter;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.model.Checkpoint;
import dev.gblm.prune.Mask;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.RecordFormatException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exporter's state and file work, without Kafka: epochs being assembled, epochs done, the output directories.
 * {@link dev.gblm.stream.exporter.Exporter} feeds it records and commits what it says is safe.
 */
public final class EpochExports {
    private static final Logger LOG = LoggerFactory.getLogger(EpochExports.class);
    private final Path outDir;
    private final Checkpoint model;
    private final Path tokenizer;
    private final Map<String, EpochAssembly> pending = new LinkedHashMap<>();
    private final Set<String> done = new HashSet<>();
    private final MeterRegistry meters;
    private final Counter exported;
    private final Counter skippedExisting;
    private final Timer exportTime;
    private final Timer latency;
    private final Map<String, AtomicLong> sparsityGauges = new ConcurrentHashMap<>();

    public EpochExports(Path outDir, Checkpoint model, Path tokenizer, MeterRegistry meters) {
        this.outDir = outDir;
        this.model = model;
        this.tokenizer = tokenizer;
        this.meters = meters;
        this.exported = Counter.builder("gblm.exporter.epochs.exported").description("epochs written to the output directory")
                .register(meters);
        this.skippedExisting = Counter.builder("gblm.exporter.epochs.existing")
                .description("completed epochs whose output directory already existed (replays), not rewritten").register(meters);
        this.exportTime = Timer.builder("gblm.exporter.export.time").description("time to write and fsync one epoch's output")
                .register(meters);
        this.latency = Timer.builder("gblm.exporter.end.to.end.latency")
                .description("from the epoch's last calibration sample (record timestamp) to its durable export").register(meters);
        Gauge.builder("gblm.exporter.epochs.assembling", pending, Map::size)
                .description("epochs whose mask blocks are being collected").register(meters);
    }

    /** Directory of an epoch's output. */
    public static Path epochDir(Path outDir, String job, int epoch) {
        return outDir.resolve(job).resolve("epoch-" + epoch);
    }

    public int pendingEpochs() {
        return pending.size();
    }

    private void rejected(String reason) {
        Counter.builder("gblm.exporter.rejected").tag("reason", reason).description("unusable epoch or mask records skipped")
                .register(meters).increment();
    }

    public void epochRecord(byte[] value, String partition, long offset) {
        EpochRecord e;
        try {
            e = Json.read(value, EpochRecord.class);
            if (e.job() == null || e.spec() == null || e.blocks() == null) {
                throw new RecordFormatException("epoch record lacks job, spec or blocks");
            }
        } catch (RuntimeException ex) {
            LOG.warn("skipping unreadable epoch record at {}@{}: {}", partition, offset, ex.getMessage());
            rejected("bad-epoch-record");
            return;
        }
        String id = e.job() + "/" + e.epoch();
        if (isDone(e.job(), e.epoch())) {
            return;
        }
        EpochAssembly a = pending.computeIfAbsent(id, k -> new EpochAssembly(e.job(), e.epoch()));
        a.setRecord(e);
        a.held(partition, offset);
    }

    public void maskBlock(String key, byte[] value, String partition, long offset) {
        String[] parts = key == null ? new String[0] : key.split("/");
        int epoch;
        try {
            if (parts.length != 5) {
                throw new NumberFormatException();
            }
            epoch = Integer.parseInt(parts[1]);
        } catch (NumberFormatException ex) {
            LOG.warn("skipping mask record with bad key '{}' at {}@{}", key, partition, offset);
            rejected("bad-mask-key");
            return;
        }
        if (isDone(parts[0], epoch)) {
            return;
        }
        MaskBlock b;
        try {
            b = MaskBlock.decode(value);
        } catch (RecordFormatException ex) {
            LOG.warn("skipping corrupt mask block {} at {}@{}: {}", key, partition, offset, ex.getMessage());
            rejected("corrupt-mask-block");
            return;
        }
        EpochAssembly a = pending.computeIfAbsent(parts[0] + "/" + epoch, k -> new EpochAssembly(parts[0], epoch));
        a.add(b);
        a.held(partition, offset);
    }

    /** Exported by this process (a replay from an earlier run is assembled again; its write is skipped). */
    private boolean isDone(String job, int epoch) {
        return done.contains(job + "/" + epoch);
    }

    /** Exports every complete epoch (skipping the write when its directory exists) and forgets it. */
    public List<ModelReady> exportComplete() {
        List<ModelReady> out = new ArrayList<>();
        for (var it = pending.values().iterator(); it.hasNext();) {
            EpochAssembly a = it.next();
            if (!a.complete()) {
                continue;
            }
            out.add(export(a));
            done.add(a.job() + "/" + a.epoch());
            it.remove();
        }
        return out;
    }

    private ModelReady export(EpochAssembly a) {
        EpochRecord e = a.record();
        Path dir = epochDir(outDir, e.job(), e.epoch());
        long t0 = System.nanoTime();
        Map<ModuleKey, Mask> masks = a.masks();
        boolean written = false;
        ObjectNode report;
        if (Files.isDirectory(dir)) {
            skippedExisting.increment();
            report = readReport(dir);
        } else {
            Path prev = e.epoch() > 1 ? epochDir(outDir, e.job(), e.epoch() - 1).resolve(PrunedModelWriter.MASKS_FILE) : null;
            Double drift = ExportReport.drift(prev, masks);
            report = PrunedModelWriter.write(dir, false, model, masks, PrunedModelWriter.UpdatedWeights.NONE,
                    ExportReport.of(e, drift, System.currentTimeMillis()), tokenizer);
            sync(dir);
            written = true;
            exported.increment();
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
        double overall = report.path("sparsity").path("overall").asDouble(Double.NaN);
        Double drift = report.path("drift").isNumber() ? report.path("drift").asDouble() : null;
        return new ModelReady(e.job(), e.epoch(), dir.toAbsolutePath().toString(), e.samples(), e.tokens(), overall,
                e.streams(), e.sliceIds().size(), e.profile(), drift, e.lastSampleTimestamp(), e.declaredAt(), exportedAt,
                seconds, written);
    }

    private AtomicLong gauge(String job, String module) {
        return sparsityGauges.computeIfAbsent(job + "|" + module, k -> {
            AtomicLong v = new AtomicLong();
            Gauge.builder("gblm.exporter.sparsity", v, x -> Double.longBitsToDouble(x.get())).tag("job", job)
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

    private static ObjectNode readReport(Path dir) {
        try {
            return (ObjectNode) Json.mapper().readTree(dir.resolve(PrunedModelWriter.REPORT_FILE).toFile());
        } catch (IOException | ClassCastException e) {
            return Json.mapper().createObjectNode();
        }
    }

    /** fsync every file, the directory and its parent: the export survives a power cut before offsets commit. */
    static void sync(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.toList()) {
                if (Files.isRegularFile(f)) {
                    try (FileChannel c = FileChannel.open(f, StandardOpenOption.WRITE)) {
                        c.force(true);
                    }
                }
            }
            for (Path d : new Path[] {dir, dir.getParent()}) {
                try (FileChannel c = FileChannel.open(d, StandardOpenOption.READ)) {
                    c.force(true);
                } catch (IOException ignored) {
                    // some file systems cannot sync a directory; the files themselves are synced
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sync " + dir, e);
        }
    }
}
