package dev.gblm.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Mask;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.MaskFile;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.worker.SampleDecoder;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * The assertions of {@link FaultInjection}, read back from the broker (read_committed) and the output directory once
 * every service is stopped: (a) samples exactly once, (b) epochs exactly once, (c) masks equal batch one-shot on the
 * epoch's samples, (d) no temporary directory under the output. Each check reports a verdict and one line of detail;
 * nothing here throws for a failed check.
 */
final class FaultInjectionChecks {
    /** Streaming vs batch: float32 near-ties may swap at most this fraction of the gblm mask bits (docs/architecture.md). */
    static final double GBLM_NEAR_TIE_BOUND = 1e-3;

    private final String bootstrap;
    private final Checkpoint checkpoint;
    private final Path modelDir;
    private final Path outDir;
    private final int samples;
    private final int bad;
    private final List<String> streams;
    private final List<String> jobs;
    private final PrintStream out;

    /** Offsets of one calibration partition: the decoded tokens of each valid sample, null for a poison record. */
    private final Map<TopicPartition, TreeMap<Long, int[]>> input = new LinkedHashMap<>();
    private final List<SliceRecord> slices = new ArrayList<>();
    private final Map<String, EpochRecord> epochs = new LinkedHashMap<>();

    FaultInjectionChecks(String bootstrap, Checkpoint checkpoint, Path modelDir, Path outDir, int samples, int bad,
            List<String> streams, List<String> jobs, PrintStream out) {
        this.bootstrap = bootstrap;
        this.checkpoint = checkpoint;
        this.modelDir = modelDir;
        this.outDir = outDir;
        this.samples = samples;
        this.bad = bad;
        this.streams = streams;
        this.jobs = jobs;
        this.out = out;
    }

    List<FaultInjectionReport.Check> run() {
        List<FaultInjectionReport.Check> checks = new ArrayList<>();
        checks.add(guard("(a) samples exactly once", this::samplesExactlyOnce));
        checks.add(guard("(b) epochs exactly once", this::epochsExactlyOnce));
        checks.add(guard("(c) masks = batch one-shot", this::masksEqualBatch));
        checks.add(guard("(d) no temp dir under OUT", this::noTempDirs));
        return checks;
    }

    private interface CheckBody {
        FaultInjectionReport.Check run() throws Exception;
    }

    private FaultInjectionReport.Check guard(String name, CheckBody body) {
        long t0 = System.nanoTime();
        try {
            return body.run();
        } catch (Exception | AssertionError e) {
            return new FaultInjectionReport.Check(name, false, "could not check: " + e);
        } finally {
            out.printf(Locale.ROOT, "check %s: %.1f s%n", name, (System.nanoTime() - t0) / 1e9);
        }
    }

    // ------------------------------------------------------------------ (a)

    private FaultInjectionReport.Check samplesExactlyOnce() {
        String name = "(a) samples exactly once";
        int seqLen = checkpoint.config().maxPositionEmbeddings();
        SampleDecoder decoder = new SampleDecoder(tokenizer(), checkpoint.config().vocabSize(), seqLen);
        long records = 0;
        long valid = 0;
        for (String stream : streams) {
            String topic = Topics.calibrationTopic(stream);
            for (ConsumerRecord<byte[], byte[]> r : readCommitted(topic)) {
                TopicPartition tp = new TopicPartition(topic, r.partition());
                SampleDecoder.Result d = decoder.decode(r.key(), r.value(), header(r, Topics.HEADER_FORMAT));
                int[] tokens = d instanceof SampleDecoder.Accepted a ? a.tokens() : null;
                input.computeIfAbsent(tp, k -> new TreeMap<>()).put(r.offset(), tokens);
                records++;
                valid += tokens == null ? 0 : 1;
            }
        }
        List<String> problems = new ArrayList<>();
        if (records != samples + bad || valid != samples) {
            problems.add(String.format(Locale.ROOT, "the input holds %d records (%d valid), ingested %d (%d valid)",
                    records, valid, samples + bad, samples));
        }
        Map<TopicPartition, Map<Long, Integer>> inSlices = new HashMap<>();
        Set<String> ids = new HashSet<>();
        long sliceSamples = 0;
        long countMismatch = 0;
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(Topics.SLICES.name())) {
            SliceRecord s = Json.read(r.value(), SliceRecord.class);
            if (!streams.contains(s.stream())) {
                continue;
            }
            s.validate();
            slices.add(s);
            if (!ids.add(s.sliceId())) {
                problems.add("slice " + s.sliceId() + " committed twice");
            }
            sliceSamples += s.samples();
            long good = 0;
            long rejected = 0;
            for (OffsetRange range : s.ranges()) {
                TopicPartition tp = new TopicPartition(range.topic(), range.partition());
                TreeMap<Long, int[]> part = input.getOrDefault(tp, new TreeMap<>());
                for (long o = range.fromInclusive(); o < range.toExclusive(); o++) {
                    inSlices.computeIfAbsent(tp, k -> new HashMap<>()).merge(o, 1, Integer::sum);
                    if (!part.containsKey(o)) {
                        problems.add("slice " + s.sliceId() + " covers " + tp + "@" + o + ", which holds no record");
                    } else if (part.get(o) != null) {
                        good++;
                    } else {
                        rejected++;
                    }
                }
            }
            if (good != s.samples() || rejected != s.rejected()) {
                countMismatch++;
                problems.add(String.format(Locale.ROOT, "slice %s counts %d samples + %d rejected, its ranges hold %d + %d",
                        s.sliceId(), s.samples(), s.rejected(), good, rejected));
            }
        }
        Map<TopicPartition, Map<Long, Integer>> dead = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(Topics.DLQ.name())) {
            String topic = header(r, Topics.HEADER_SOURCE_TOPIC);
            String partition = header(r, Topics.HEADER_SOURCE_PARTITION);
            String offset = header(r, Topics.HEADER_SOURCE_OFFSET);
            if (topic == null || partition == null || offset == null) {
                String src = header(r, Topics.HEADER_SOURCE); // topic-partition@offset
                if (src == null || !src.contains("@") || !src.contains("-")) {
                    continue;
                }
                String tpPart = src.substring(0, src.lastIndexOf('@'));
                topic = tpPart.substring(0, tpPart.lastIndexOf('-'));
                partition = tpPart.substring(tpPart.lastIndexOf('-') + 1);
                offset = src.substring(src.lastIndexOf('@') + 1);
            }
            if (!streams.contains(Topics.streamOf(topic))) {
                continue;
            }
            dead.computeIfAbsent(new TopicPartition(topic, Integer.parseInt(partition)), k -> new HashMap<>())
                    .merge(Long.parseLong(offset), 1, Integer::sum);
        }
        long twice = 0;
        long lost = 0;
        long deadLetters = 0;
        for (Map.Entry<TopicPartition, TreeMap<Long, int[]>> e : input.entrySet()) {
            Map<Long, Integer> cov = inSlices.getOrDefault(e.getKey(), Map.of());
            Map<Long, Integer> dlq = dead.getOrDefault(e.getKey(), Map.of());
            for (Map.Entry<Long, int[]> rec : e.getValue().entrySet()) {
                int c = cov.getOrDefault(rec.getKey(), 0);
                int d = dlq.getOrDefault(rec.getKey(), 0);
                String where = e.getKey() + "@" + rec.getKey();
                if (rec.getValue() != null) { // a valid sample: in exactly one slice, never a dead letter
                    if (c > 1 || d > 0) {
                        twice++;
                        problems.add(where + " counted " + c + " times in slices and " + d + " times in gblm.dlq");
                    } else if (c == 0) {
                        lost++;
                        problems.add(where + " (a valid sample) is in no committed slice");
                    }
                } else { // a poison record: exactly one dead letter, in at most one slice's ranges
                    deadLetters += d;
                    if (d > 1 || c > 1) {
                        twice++;
                        problems.add(where + " (poison) has " + d + " dead letters and is in " + c + " slices");
                    } else if (d == 0) {
                        lost++;
                        problems.add(where + " (poison) has no dead letter");
                    }
                }
            }
            for (long o : cov.keySet()) {
                if (!e.getValue().containsKey(o)) {
                    problems.add("a slice covers " + e.getKey() + "@" + o + " beyond the input");
                }
            }
        }
        if (sliceSamples != valid) {
            problems.add("the committed slices count " + sliceSamples + " samples, the input holds " + valid);
        }
        String detail = String.format(Locale.ROOT, "%d offsets: %d samples in %d slices + %d dead letters; "
                + "counted twice %d, lost %d", records, sliceSamples, slices.size(), deadLetters, twice, lost);
        return new FaultInjectionReport.Check(name, problems.isEmpty(), problems.isEmpty() ? detail
                : detail + "; " + summarize(problems));
    }

    // ------------------------------------------------------------------ (b)

    private FaultInjectionReport.Check epochsExactlyOnce() throws IOException {
        String name = "(b) epochs exactly once";
        List<String> problems = new ArrayList<>();
        Map<String, Integer> records = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(Topics.EPOCHS.name())) {
            EpochRecord e = Json.read(r.value(), EpochRecord.class);
            if (!jobs.contains(e.job())) {
                continue;
            }
            records.merge(e.job() + "/" + e.epoch(), 1, Integer::sum);
            epochs.putIfAbsent(e.job() + "/" + e.epoch(), e);
        }
        Map<String, Integer> maskKeys = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(Topics.MASKS.name())) {
            String key = new String(r.key(), StandardCharsets.UTF_8);
            if (jobs.contains(key.split("/")[0])) {
                maskKeys.merge(key, 1, Integer::sum);
            }
        }
        Map<String, Integer> models = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(Topics.MODELS.name())) {
            ModelReady m = Json.read(r.value(), ModelReady.class);
            if (jobs.contains(m.job())) {
                models.merge(m.job() + "/" + m.epoch(), 1, Integer::sum);
            }
        }
        Set<String> sliceIds = new HashSet<>();
        slices.forEach(s -> sliceIds.add(s.sliceId()));
        long blocks = 0;
        for (String job : jobs) {
            String id = job + "/1";
            EpochRecord e = epochs.get(id);
            if (records.getOrDefault(id, 0) != 1) {
                problems.add(id + ": " + records.getOrDefault(id, 0) + " epoch records");
            }
            if (models.getOrDefault(id, 0) != 1) {
                problems.add(id + ": " + models.getOrDefault(id, 0) + " gblm.models events");
            }
            if (e == null) {
                continue;
            }
            if (e.samples() != samples) {
                problems.add(id + ": the epoch counts " + e.samples() + " samples, expected " + samples);
            }
            if (new HashSet<>(e.sliceIds()).size() != e.sliceIds().size() || !Set.copyOf(e.sliceIds()).equals(sliceIds)) {
                problems.add(id + ": the epoch lists " + e.sliceIds().size() + " slices, not exactly the "
                        + sliceIds.size() + " committed ones");
            }
            long mine = 0;
            for (Map.Entry<String, Integer> k : maskKeys.entrySet()) {
                if (k.getKey().startsWith(job + "/1/")) {
                    mine++;
                    if (k.getValue() != 1) {
                        problems.add("mask block " + k.getKey() + " published " + k.getValue() + " times");
                    }
                }
            }
            if (mine != e.blockCount()) {
                problems.add(id + ": " + mine + " distinct mask blocks, the layout has " + e.blockCount());
            }
            blocks += mine;
        }
        for (String k : records.keySet()) {
            if (!k.endsWith("/1")) {
                problems.add("unexpected epoch " + k);
            }
        }
        List<String> dirs = new ArrayList<>();
        if (Files.isDirectory(outDir)) {
            try (Stream<Path> l = Files.list(outDir)) {
                l.forEach(p -> dirs.add(p.getFileName().toString()));
            }
        }
        for (String job : jobs) {
            Path jobDir = outDir.resolve(job);
            List<String> epochDirs = new ArrayList<>();
            if (Files.isDirectory(jobDir)) {
                try (Stream<Path> l = Files.list(jobDir)) {
                    l.filter(p -> p.getFileName().toString().startsWith("epoch-"))
                            .forEach(p -> epochDirs.add(p.getFileName().toString()));
                }
            }
            if (!epochDirs.equals(List.of("epoch-1"))) {
                problems.add(job + ": output directories " + epochDirs + ", expected [epoch-1]");
            }
        }
        if (!Set.copyOf(dirs).equals(Set.copyOf(jobs))) {
            problems.add("OUT holds " + dirs + ", expected " + jobs);
        }
        String detail = String.format(Locale.ROOT, "%d jobs: epoch 1 with 1 epoch record, %d mask blocks once each, "
                + "1 gblm.models event and 1 directory per job", jobs.size(), blocks);
        return new FaultInjectionReport.Check(name, problems.isEmpty(), problems.isEmpty() ? detail
                : summarize(problems));
    }

    // ------------------------------------------------------------------ (c)

    private FaultInjectionReport.Check masksEqualBatch() throws IOException {
        String name = "(c) masks = batch one-shot";
        List<String> problems = new ArrayList<>();
        Map<String, SliceRecord> byId = new HashMap<>();
        slices.forEach(s -> byId.put(s.sliceId(), s));
        StringBuilder detail = new StringBuilder();
        for (String job : jobs) {
            EpochRecord e = epochs.get(job + "/1");
            Path dir = outDir.resolve(job).resolve("epoch-1");
            if (e == null || !Files.isRegularFile(dir.resolve(PrunedModelWriter.MASKS_FILE))) {
                problems.add(job + ": no epoch record or no exported masks.bin");
                continue;
            }
            // exactly the epoch's samples, in its merge order (slice by slice, offsets ascending)
            List<int[]> epochSamples = new ArrayList<>();
            for (String id : e.sliceIds()) {
                SliceRecord s = byId.get(id);
                if (s == null) {
                    throw new GblmException(job + ": epoch slice " + id + " is not committed on gblm.slices");
                }
                for (OffsetRange r : s.ranges()) {
                    TreeMap<Long, int[]> part = input.get(new TopicPartition(r.topic(), r.partition()));
                    for (long o = r.fromInclusive(); o < r.toExclusive(); o++) {
                        int[] t = part == null ? null : part.get(o);
                        if (t != null) {
                            epochSamples.add(t);
                        }
                    }
                }
            }
            if (epochSamples.size() != e.samples()) {
                problems.add(job + ": the epoch's slices hold " + epochSamples.size() + " samples, its record says "
                        + e.samples());
            }
            JsonNode report = Json.mapper().readTree(dir.resolve(PrunedModelWriter.REPORT_FILE).toFile());
            if (report.path("samples").asLong() != e.samples()) {
                problems.add(job + ": report.json counts " + report.path("samples").asLong() + " samples");
            }
            Method method = Method.parse(e.spec().method());
            BatchPruner.Result batch;
            try (LlamaModel model = LlamaModel.load(checkpoint)) { // a fresh dense model: BatchPruner prunes in place
                batch = BatchPruner.prune(model, epochSamples, BatchPruneSettings.of(new PruneSettings(method,
                        GradNorm.L1, SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL), PruneMode.ONE_SHOT), null);
            }
            Map<String, Mask> streamed = new HashMap<>();
            for (MaskFile.Entry m : MaskFile.read(dir.resolve(PrunedModelWriter.MASKS_FILE))) {
                streamed.put(m.layer() + "/" + m.module(), m.mask());
            }
            long differing = 0;
            long total = 0;
            for (Map.Entry<ModuleKey, Mask> m : batch.masks().entrySet()) {
                Mask s = streamed.get(m.getKey().layer() + "/" + m.getKey().kind().shortName());
                if (s == null) {
                    problems.add(job + ": no exported mask for " + m.getKey());
                    continue;
                }
                if (s.prunedCount() != m.getValue().prunedCount()) {
                    problems.add(job + ": " + m.getKey() + " prunes " + s.prunedCount() + ", batch "
                            + m.getValue().prunedCount());
                }
                differing += s.differences(m.getValue());
                total += s.numel();
            }
            boolean exact = method == Method.WANDA;
            double bound = exact ? 0 : GBLM_NEAR_TIE_BOUND;
            if (differing > bound * total) {
                problems.add(String.format(Locale.ROOT, "%s: %d of %d mask bits differ from batch one-shot (bound %s)",
                        job, differing, total, exact ? "0" : "1e-3"));
            }
            detail.append(detail.length() == 0 ? "" : "; ").append(String.format(Locale.ROOT,
                    "%s %d of %d bits differ (%s)", method.cliName(), differing, total, exact ? "must be 0"
                            : "near-tie bound 1e-3"));
            out.printf(Locale.ROOT, "masks vs batch one-shot: %s (%s) %d of %d bits differ on %d samples%n", job,
                    method.cliName(), differing, total, epochSamples.size());
        }
        return new FaultInjectionReport.Check(name, problems.isEmpty(), problems.isEmpty()
                ? detail + "; pruned counts equal" : summarize(problems));
    }

    // ------------------------------------------------------------------ (d)

    private FaultInjectionReport.Check noTempDirs() throws IOException {
        String name = "(d) no temp dir under OUT";
        List<String> left = new ArrayList<>();
        if (Files.isDirectory(outDir)) {
            try (Stream<Path> walk = Files.walk(outDir)) {
                walk.filter(p -> !p.equals(outDir)).forEach(p -> {
                    String n = p.getFileName().toString();
                    if (n.contains(".tmp-") || n.startsWith(".")) {
                        left.add(outDir.relativize(p).toString());
                    }
                });
            }
        }
        return new FaultInjectionReport.Check(name, left.isEmpty(), left.isEmpty() ? "none"
                : left.size() + " left: " + summarize(left));
    }

    // ------------------------------------------------------------------ helpers

    private Tokenizer tokenizer() {
        try {
            return Tokenizers.load(modelDir, null); // what `gblm worker` loads when it finds one
        } catch (GblmException e) {
            return null; // token-id samples only
        }
    }

    /** Every committed record of {@code topic} up to its last stable offset. */
    private List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
        Properties p = KafkaSettings.of(bootstrap).consumer("gblm-faults-check");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(16 << 20));
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new GblmException("timed out reading " + topic);
                }
                c.poll(Duration.ofMillis(200)).forEach(records::add);
            }
        }
        return records;
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static String summarize(List<String> problems) {
        int shown = Math.min(8, problems.size());
        return String.join("; ", problems.subList(0, shown))
                + (problems.size() > shown ? "; ... (" + (problems.size() - shown) + " more)" : "");
    }
}
