package dev.gblm.stream.worker;

import static dev.gblm.testing.StreamTestSupport.await;
import static dev.gblm.testing.StreamTestSupport.fastGroup;
import static dev.gblm.testing.StreamTestSupport.readCommitted;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.finalizer.Finalizer;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
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
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once, end to end, on a real embedded broker: stories260K, the 128 TinyStories calibration samples over 2
 * streams x 3 partitions, 2 workers, the finalizer and the exporter of {@link Pipeline}.
 *
 * <p>Faults, in this order, while the first stream is being consumed:
 * <ol>
 *   <li>worker {@code w0} dies inside a slice transaction after its first slice (statistics, slice record and
 *       offsets sent, never committed or aborted: {@link Worker.SimulatedCrash} from the fault hook, clients closed
 *       without a clean shutdown), and a replacement with the same worker id (so the same transactional id) takes
 *       over;</li>
 *   <li>worker {@code w1} is killed abruptly ({@link Worker#kill()}: no commit, no abort; whatever it holds
 *       uncommitted is lost) and replaced;</li>
 *   <li>the finalizer is stopped once it holds the first stream's slices and a new instance with the same application
 *       id starts on an EMPTY state directory, so its stores come back from the changelog topics only.</li>
 * </ol>
 * Then the second stream is ingested and the epoch completes. The exported epoch must count exactly 128 samples,
 * its slices must tile every calibration offset exactly once, every epoch record and mask block must appear exactly
 * once, and the masks must equal an uninterrupted computation: {@link BatchPruner} one-shot on the same 128 samples.
 * The worker faults also force rebalances with two workers in one JVM, which is where statistics corruption would
 * show up as differing gblm (gradient) mask bits.
 */
class ExactlyOnceIntegrationTest {
    private static final String INSTANCE = "eo";
    private static final int SLICE = 16;

    @Test
    void crashedWorkersAndARestartedFinalizerStillGiveExactlyTheUninterruptedEpoch(@TempDir Path tmp) throws Exception {
        Path model = TestData.require("models/stories260K.bin");
        List<String> docs = CalibrationSet.documents(
                Files.readString(TestData.require("corpora/tinystories_calib_128.txt")), false);
        assertThat(docs).hasSize(128);
        Path a = tmp.resolve("a.txt");
        Path b = tmp.resolve("b.txt");
        Files.writeString(a, String.join("\n\n", docs.subList(0, 64)) + "\n");
        Files.writeString(b, String.join("\n\n", docs.subList(64, 128)) + "\n");
        Path out = tmp.resolve("out");
        Checkpoint ckpt = Checkpoints.load(model);
        Tokenizer tok = Tokenizers.load(model, null);
        List<JobSpec> jobs = List.of(job("eo-gblm", "gblm"), job("eo-wanda", "wanda"));

        List<Worker> workers = new ArrayList<>();
        List<GblmMetrics> metrics = new ArrayList<>();
        Finalizer second = null;
        // workers=0: this test owns the workers (fault hooks, short session timeouts) but uses the run's broker,
        // topics, finalizer and exporter
        PipelineSettings o = PipelineSettings.builder(model, out).workers(0).samplesPerSlice(SLICE)
                .maxSliceAge(Duration.ofSeconds(2)).instance(INSTANCE).build();
        double sliceError;
        try (Pipeline p = new Pipeline(o).start()) {
            try {
                String bs = p.bootstrapServers();
                try (TopicAdmin admin = TopicAdmin.connect(p.kafka())) {
                    admin.ensure(TopicCatalog.fromClasspath().calibrationTopic("eo-b")); // the job names it up front
                }
                p.ingest(a, "eo-a", DocumentReader.Format.TEXT); // topic eo-a exists before the jobs name it
                for (JobSpec j : jobs) {
                    p.submit(j);
                }

                // --- worker w0 dies inside the transaction of its 2nd slice
                AtomicBoolean crashed = new AtomicBoolean();
                Worker w0 = worker(bs, "w0", ckpt, tok, workers, metrics);
                w0.setFaults(seq -> {
                    if (seq >= 2 && crashed.compareAndSet(false, true)) {
                        throw new Worker.SimulatedCrash("w0 dies before committing slice " + seq);
                    }
                });
                w0.start();
                assertThat(w0.awaitAssignment(Duration.ofSeconds(60))).isTrue();
                Worker w1 = worker(bs, "w1", ckpt, tok, workers, metrics).start();
                await("w0 crash", Duration.ofSeconds(90), crashed::get);
                await("w0 loop ended", Duration.ofSeconds(30), () -> !w0.isRunning());
                assertThat(w0.failure()).as("a simulated crash is not a failure report").isNull();
                Worker w0b = worker(bs, "w0", ckpt, tok, workers, metrics).start(); // same id: fences w0's transaction

                // --- worker w1 killed abruptly: whatever it had accumulated is never committed
                w1.kill();
                Worker w1b = worker(bs, "w1", ckpt, tok, workers, metrics).start();
                await("stream eo-a committed", Duration.ofSeconds(120), () -> committed(workers) >= 64);
                assertThat(committed(workers)).isEqualTo(64);

                // --- finalizer: stop once it holds eo-a's slices, restart with the same id and an empty state dir
                List<SliceRecord> firstSlices = StreamTestSupport.slices(bs, Set.of("eo-a"));
                await("finalizer stored eo-a's slices", Duration.ofSeconds(60),
                        () -> counter(p.metrics(), "gblm.finalizer.slices.accepted") >= firstSlices.size()
                                && counter(p.metrics(), "gblm.finalizer.stats.stored")
                                        >= firstSlices.stream().mapToInt(SliceRecord::blockCount).sum());
                assertThat(counter(p.metrics(), "gblm.finalizer.epochs.declared")).as("no epoch before 128 samples")
                        .isZero();
                // leave the group on close so the new instance need not wait out the old member's session; what is
                // under test is the restore of every store from its changelog into the empty state directory
                GblmMetrics fm = new GblmMetrics("finalizer");
                metrics.add(fm);
                second = StreamTestSupport.replaceFinalizerOnEmptyState(p, tmp.resolve("wiped-state"), ckpt, INSTANCE, fm);

                p.ingest(b, "eo-b", DocumentReader.Format.TEXT);
                assertThat(p.awaitFirstEpochs(Duration.ofMinutes(5))).as("every job exported").isTrue();
                assertThat(counter(fm, "gblm.finalizer.epochs.declared")).isEqualTo(jobs.size());
                assertThat(committed(workers)).isEqualTo(128);
                for (Worker w : List.of(w0b, w1b)) {
                    w.stop();
                    assertThat(w.failure()).isNull();
                }
                System.out.printf("exactly-once: committed samples w0=%d w1=%d w0'=%d w1'=%d%n", w0.committedSamples(),
                        w1.committedSamples(), w0b.committedSamples(), w1b.committedSamples());
                assertThat(w0b.committedSamples() + w1b.committedSamples()).as("the replacements did work")
                        .isPositive();

                // --- slices: every calibration offset exactly once
                List<SliceRecord> slices = StreamTestSupport.slices(bs, Set.of("eo-a", "eo-b"));
                assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(128);
                Map<TopicPartition, Long> ends = new LinkedHashMap<>();
                try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bs))) {
                    ends.putAll(StreamTestSupport.ends(admin, "calib.eo-a", 3));
                    ends.putAll(StreamTestSupport.ends(admin, "calib.eo-b", 3));
                }
                assertThat(ends.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(128);
                StreamTestSupport.assertTiling(slices, ends);

                // --- one epoch record per job, listing every slice; every mask block exactly once
                Set<String> allIds = new HashSet<>();
                slices.forEach(s -> allIds.add(s.sliceId()));
                Map<String, EpochRecord> epochs = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> r : readCommitted(bs, Topics.EPOCHS.name())) {
                    EpochRecord e = Json.read(r.value(), EpochRecord.class);
                    assertThat(epochs.put(e.job(), e)).as("one epoch record for %s", e.job()).isNull();
                    assertThat(e.samples()).isEqualTo(128);
                    assertThat(Set.copyOf(e.sliceIds())).hasSize(e.sliceIds().size()).isEqualTo(allIds);
                }
                assertThat(epochs).containsOnlyKeys("eo-gblm", "eo-wanda");
                Map<String, Integer> maskKeys = new HashMap<>();
                for (ConsumerRecord<byte[], byte[]> r : readCommitted(bs, Topics.MASKS.name())) {
                    maskKeys.merge(new String(r.key(), StandardCharsets.UTF_8), 1, Integer::sum);
                }
                assertThat(maskKeys.values()).allMatch(n -> n == 1);
                assertThat(maskKeys).hasSize(epochs.values().stream().mapToInt(EpochRecord::blockCount).sum());
                assertThat(readCommitted(bs, Topics.MODELS.name())).hasSize(jobs.size());

                // each committed slice's statistics equal a direct computation over exactly the samples its ranges name
                sliceError = worstSliceError(bs, ckpt, tok, slices);
                System.out.println("exactly-once: worst per-slice relative error of the statistics = " + sliceError);
            } finally {
                // while the broker is still up
                if (second != null) {
                    second.close();
                }
                workers.forEach(Worker::close);
                metrics.forEach(GblmMetrics::close);
            }
        }

        // --- masks equal the uninterrupted reference (batch one-shot on the same samples)
        List<int[]> samples = CalibrationSet.build(docs, tok, 128, ckpt.config().maxPositionEmbeddings()).samples();
        assertThat(samples).hasSize(128);
        Map<String, Long> differing = new LinkedHashMap<>();
        long total = 0;
        for (JobSpec j : jobs) {
            Path dir = out.resolve(j.id()).resolve("epoch-1");
            JsonNode report = Json.mapper().readTree(dir.resolve("report.json").toFile());
            assertThat(report.get("samples").asLong()).isEqualTo(128);
            assertThat(report.get("calibration").get("samplesUsed").asLong()).isEqualTo(128);
            long[] d = StreamTestSupport.batchDisagreement(dir, ckpt, samples, new PruneSettings(Method.parse(j.method()),
                    GradNorm.L1, SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL));
            differing.put(j.method(), d[0]);
            total = d[1];
        }
        System.out.printf("exactly-once vs uninterrupted: mask bits differing of %d: %s%n", total, differing);
        // activation sums of squares: no near-tie on these inputs (PipelineIntegrationTest sees 0 too), and a slice
        // counted twice or lost would change many bits
        assertThat(differing.get("wanda")).as("wanda mask bits differing from the uninterrupted run").isZero();
        // float32 near-ties only, the bound of PipelineIntegrationTest (see docs/architecture.md). Corrupted gradient
        // statistics (the q_proj gradient bug fixed in LlamaModel by commit 170ec03, seen with two workers in one JVM)
        // showed up here as 240-310 differing bits (> 1e-3), and as per-slice errors of 0.1-3 in the check below.
        assertThat((double) differing.get("gblm") / total).as("gblm mask disagreement").isLessThanOrEqualTo(1e-3);
        // float32 sums of up to 16 terms in another order: ~1e-7; a wrong slice is off by orders of magnitude more
        assertThat(sliceError).as("worst per-slice statistics error").isLessThan(1e-5);
    }

    /**
     * Per committed slice: its statistics blocks from gblm.stats merged, against {@link StreamTestSupport#reference}
     * over the documents its offset ranges cover (decoded exactly as the worker does). Largest relative error.
     */
    private static double worstSliceError(String bs, Checkpoint ckpt, Tokenizer tok, List<SliceRecord> slices) {
        int seqLen = ckpt.config().maxPositionEmbeddings();
        Map<String, int[]> byOffset = StreamTestSupport.samplesByOffset(bs, List.of("calib.eo-a", "calib.eo-b"),
                new SampleDecoder(tok, ckpt.config().vocabSize(), seqLen));
        double worst = 0;
        for (SliceRecord s : slices) {
            double e = StreamTestSupport.maxRelativeError(StreamTestSupport.mergedBlocks(bs, List.of(s)),
                    StreamTestSupport.reference(ckpt, StreamTestSupport.samplesOf(List.of(s), byOffset), seqLen, 100f));
            System.out.printf("slice %s (%d samples): relative error %.3g%n", s.sliceId(), s.samples(), e);
            worst = Math.max(worst, e);
        }
        return worst;
    }

    private static JobSpec job(String id, String method) {
        return new JobSpec(id, "0000000000000000", List.of("eo-a", "eo-b"), method, 0.5, "unstructured", null, "l1", 128,
                0, 0);
    }

    /** A worker as {@link Pipeline} configures it (same group, slice settings) with short session timeouts. */
    private static Worker worker(String bs, String id, Checkpoint ckpt, Tokenizer tok, List<Worker> workers,
            List<GblmMetrics> metrics) {
        WorkerSettings wc = WorkerSettings.builder(KafkaSettings.of(bs), INSTANCE + "-" + id).samplesPerSlice(SLICE)
                .maxSliceAge(Duration.ofSeconds(2)).groupId("gblm-worker-" + INSTANCE).consumerOverrides(fastGroup())
                .build();
        GblmMetrics m = new GblmMetrics("worker");
        metrics.add(m);
        Worker w = new Worker(wc, ckpt, tok, m);
        workers.add(w);
        return w;
    }

    private static long committed(List<Worker> workers) {
        return workers.stream().mapToLong(Worker::committedSamples).sum();
    }

    private static double counter(GblmMetrics m, String name) {
        var c = m.registry().find(name).counter();
        return c == null ? 0 : c.count();
    }
}
