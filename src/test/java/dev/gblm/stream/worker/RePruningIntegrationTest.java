package dev.gblm.stream.worker;

import static dev.gblm.testing.StreamTestSupport.await;
import static dev.gblm.testing.StreamTestSupport.fastGroup;
import static dev.gblm.testing.StreamTestSupport.readCommitted;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.finalizer.Finalizer;
import dev.gblm.stream.finalizer.FinalizerTopology;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import dev.gblm.testing.StreamTestSupport;
import dev.gblm.testing.TestData;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Re-pruning on a real embedded broker: stories260K, 256 TinyStories samples (validation stories 500..755) ingested in
 * four waves of 64 into one stream, each wave only after the previous epoch was exported. Three jobs with
 * refreshEvery 64 and minSamples 128: gblm with window 128, and gblm and wanda with window 0 (base sums). Each yields
 * epochs 1 (128 samples), 2 and 3 (+64 each), and every epoch's masks equal {@code BatchPruner} one-shot over exactly
 * the samples its record names (the base's slices and its own, read back at their offsets), within the near-tie bound
 * of the stream = batch tests (1e-3 of the mask bits).
 *
 * <p>Faults: the worker dies inside a slice transaction during the wave of epoch 2 (a replacement with the same id
 * fences it), and the finalizer is replaced by one with the same application id and an EMPTY state directory between
 * epochs 2 and 3. Exactly once: the slices tile every offset once, each (job, epoch) has one epoch record, one
 * export and each mask block once. Bounded state: at the end the finalizer holds exactly the slices of the windowed
 * job's last window (planner and block stores) and one base entry per block per window-0 job.
 */
class RePruningIntegrationTest {
    private static final String INSTANCE = "rp";
    private static final String STREAM = "rp";
    private static final int SLICE = 16;
    private static final int WAVE = 64;

    @Test
    void everyEpochEqualsBatchOverItsSamplesThroughAWorkerCrashAndAFinalizerRestart(@TempDir Path tmp) throws Exception {
        Path model = TestData.require("models/stories260K.bin");
        List<String> docs = CalibrationSet.documents(
                Files.readString(TestData.require("corpora/tinystories_val_head.txt")), false).subList(500, 756);
        List<Path> waves = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            Path f = tmp.resolve("wave" + w + ".txt");
            Files.writeString(f, String.join("\n\n", docs.subList(w * WAVE, (w + 1) * WAVE)) + "\n");
            waves.add(f);
        }
        Path out = tmp.resolve("out");
        Checkpoint ckpt = Checkpoints.load(model);
        Tokenizer tok = Tokenizers.load(model, null);
        List<JobSpec> jobs = List.of(job("rp-gblm-w128", "gblm", 128), job("rp-gblm-all", "gblm", 0),
                job("rp-wanda-all", "wanda", 0));

        List<Worker> workers = new ArrayList<>();
        List<GblmMetrics> metrics = new ArrayList<>();
        Finalizer second = null;
        PipelineSettings o = PipelineSettings.builder(model, out).workers(0).samplesPerSlice(SLICE)
                .maxSliceAge(Duration.ofSeconds(2)).instance(INSTANCE).build();
        Map<String, EpochRecord> epochs = new TreeMap<>();
        List<SliceRecord> slices;
        try (Pipeline p = new Pipeline(o).start()) {
            try {
                String bs = p.bootstrapServers();
                p.ingest(waves.get(0), STREAM, DocumentReader.Format.TEXT);
                for (JobSpec j : jobs) {
                    p.submit(j);
                }
                AtomicBoolean armed = new AtomicBoolean();
                AtomicBoolean crashed = new AtomicBoolean();
                Worker w0 = worker(bs, ckpt, tok, workers, metrics);
                w0.setFaults(seq -> {
                    if (armed.get() && crashed.compareAndSet(false, true)) {
                        throw new Worker.SimulatedCrash("w0 dies before committing slice " + seq);
                    }
                });
                w0.start();

                p.ingest(waves.get(1), STREAM, DocumentReader.Format.TEXT);
                awaitExported(p, jobs, 1);

                // epoch 2's wave: the worker dies inside the transaction of its first slice; a replacement takes over
                armed.set(true);
                p.ingest(waves.get(2), STREAM, DocumentReader.Format.TEXT);
                await("w0 crash", Duration.ofSeconds(90), crashed::get);
                await("w0 loop ended", Duration.ofSeconds(30), () -> !w0.isRunning());
                Worker w0b = worker(bs, ckpt, tok, workers, metrics).start();
                awaitExported(p, jobs, 2);

                // between epochs: a new finalizer instance on an empty state directory (restore from the changelogs)
                GblmMetrics fm = new GblmMetrics("finalizer");
                metrics.add(fm);
                second = StreamTestSupport.replaceFinalizerOnEmptyState(p, tmp.resolve("wiped-state"), ckpt, INSTANCE, fm);

                p.ingest(waves.get(3), STREAM, DocumentReader.Format.TEXT);
                awaitExported(p, jobs, 3);
                w0b.stop();
                assertThat(w0b.failure()).isNull();

                // --- exactly once: slices tile the 256 offsets; one record per (job, epoch); each mask block once
                slices = StreamTestSupport.slices(bs, Set.of(STREAM));
                assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(4 * WAVE);
                try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bs))) {
                    StreamTestSupport.assertTiling(slices, StreamTestSupport.ends(admin, Topics.calibrationTopic(STREAM), 3));
                }
                for (ConsumerRecord<byte[], byte[]> r : readCommitted(bs, Topics.EPOCHS.name())) {
                    EpochRecord e = Json.read(r.value(), EpochRecord.class).validate();
                    assertThat(epochs.put(e.job() + "/" + e.epoch(), e)).as("one record for %s/%d", e.job(), e.epoch()).isNull();
                }
                assertThat(epochs).hasSize(3 * jobs.size());
                Map<String, Integer> maskKeys = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> r : readCommitted(bs, Topics.MASKS.name())) {
                    maskKeys.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum);
                }
                assertThat(maskKeys.values()).allMatch(n -> n == 1);
                assertThat(maskKeys).hasSize(epochs.values().stream().mapToInt(EpochRecord::blockCount).sum());
                assertThat(readCommitted(bs, Topics.MODELS.name())).hasSize(epochs.size());

                // --- bounded state: the windowed job's last window, and one base entry per block per window-0 job
                EpochRecord lastWindow = epochs.get("rp-gblm-w128/3");
                int blocks = lastWindow.blockCount();
                Finalizer f = second;
                Set<String> window = new HashSet<>(lastWindow.sliceIds());
                await("only the last window's slices are stored", Duration.ofSeconds(60),
                        () -> sliceIdsIn(storeKeys(f, FinalizerTopology.SLICES_STORE)).keySet().equals(window));
                Map<String, Integer> perSlice = new TreeMap<>();
                window.forEach(id -> perSlice.put(id, blocks));
                await("only the last window's blocks are stored", Duration.ofSeconds(60),
                        () -> sliceIdsIn(storeKeys(f, FinalizerTopology.BLOCKS_STORE)).equals(perSlice));
                List<String> bases = storeKeys(f, FinalizerTopology.BASES_STORE);
                assertThat(bases).hasSize(2 * blocks);
                assertThat(sliceIdsIn(bases)).isEqualTo(Map.of("rp-gblm-all", blocks, "rp-wanda-all", blocks));
                assertThat(storeKeys(f, FinalizerTopology.PENDING_STORE)).isEmpty();
                System.out.printf("re-pruning: stored after epoch 3: %d slices (%d block entries), %d base entries%n",
                        window.size(), window.size() * blocks, bases.size());
            } finally {
                if (second != null) {
                    second.close();
                }
                workers.forEach(Worker::close);
                metrics.forEach(GblmMetrics::close);
            }
            Map<String, int[]> byOffset = StreamTestSupport.samplesByOffset(p.bootstrapServers(),
                    List.of(Topics.calibrationTopic(STREAM)), new SampleDecoder(tok, ckpt.config().vocabSize(),
                            ckpt.config().maxPositionEmbeddings()));
            Map<String, SliceRecord> byId = new LinkedHashMap<>();
            slices.forEach(s -> byId.put(s.sliceId(), s));

            // --- every epoch: the rule, and masks = batch one-shot over exactly its samples
            for (JobSpec j : jobs) {
                Set<String> seen = new HashSet<>();
                for (int epoch = 1; epoch <= 3; epoch++) {
                    EpochRecord e = epochs.get(j.id() + "/" + epoch);
                    List<SliceRecord> used = e.mergeOrder().stream().map(byId::get).toList();
                    assertThat(used).doesNotContainNull();
                    long samples = used.stream().mapToLong(SliceRecord::samples).sum();
                    assertThat(e.samples()).isEqualTo(samples);
                    if (j.window() == 0) {
                        assertThat(samples).isEqualTo((epoch + 1L) * WAVE);
                        assertThat(e.base() == null ? 0 : e.base().epoch()).isEqualTo(epoch - 1);
                    } else {
                        // whole slices, newest first: at least the window, and every slice new since the last epoch
                        assertThat(samples).isGreaterThanOrEqualTo(128).isLessThan(128 + SLICE);
                        assertThat(e.base()).isNull();
                    }
                    // the samples new to the job: the first 128, then exactly the wave that triggered the epoch
                    long fresh = used.stream().filter(s -> !seen.contains(s.sliceId())).mapToLong(SliceRecord::samples).sum();
                    assertThat(fresh).isEqualTo(epoch == 1 ? 2 * WAVE : WAVE);
                    seen.addAll(e.mergeOrder());
                    List<int[]> epochSamples = StreamTestSupport.samplesOf(used, byOffset);
                    assertThat(epochSamples).hasSize((int) samples);
                    long[] d = StreamTestSupport.batchDisagreement(out.resolve(j.id()).resolve("epoch-" + epoch), ckpt,
                            epochSamples, e.spec().pruneSettings());
                    System.out.printf("re-pruning %s epoch %d: %d samples (%d slices%s), %d of %d mask bits differ from batch%n",
                            j.id(), epoch, samples, e.sliceIds().size(),
                            e.base() == null ? "" : " on base " + e.base().epoch() + " of " + e.base().sliceIds().size(),
                            d[0], d[1]);
                    assertThat((double) d[0] / d[1]).as("%s epoch %d mask disagreement", j.id(), epoch)
                            .isLessThanOrEqualTo(1e-3);
                }
            }
        }
    }

    private static JobSpec job(String id, String method, long window) {
        return new JobSpec(id, "0000000000000000", List.of(STREAM), method, 0.5, "unstructured", null, "l1", 128, WAVE,
                window);
    }

    private static void awaitExported(Pipeline p, List<JobSpec> jobs, int epoch) throws InterruptedException {
        await("epoch " + epoch + " exported", Duration.ofMinutes(4),
                () -> jobs.stream().allMatch(j -> p.exported().containsKey(j.id() + "/" + epoch)));
    }

    /** A worker as {@link Pipeline} configures it, with short session timeouts (id w0, so a replacement fences it). */
    private static Worker worker(String bs, Checkpoint ckpt, Tokenizer tok, List<Worker> workers, List<GblmMetrics> metrics) {
        WorkerSettings wc = WorkerSettings.builder(KafkaSettings.of(bs), INSTANCE + "-w0").samplesPerSlice(SLICE)
                .maxSliceAge(Duration.ofSeconds(2)).groupId("gblm-worker-" + INSTANCE).consumerOverrides(fastGroup())
                .build();
        GblmMetrics m = new GblmMetrics("worker");
        metrics.add(m);
        Worker w = new Worker(wc, ckpt, tok, m);
        workers.add(w);
        return w;
    }

    private static List<String> storeKeys(Finalizer f, String store) {
        ReadOnlyKeyValueStore<String, byte[]> s = f.streams().store(
                StoreQueryParameters.fromNameAndType(store, QueryableStoreTypes.keyValueStore()));
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = s.all()) {
            it.forEachRemaining(kv -> keys.add(kv.key));
        }
        return keys;
    }

    /** The part after the last '|' of each key (slice id or job id) → its number of entries. */
    private static Map<String, Integer> sliceIdsIn(List<String> keys) {
        Map<String, Integer> out = new TreeMap<>();
        for (String k : keys) {
            out.merge(k.substring(k.lastIndexOf('|') + 1), 1, Integer::sum);
        }
        return out;
    }
}
