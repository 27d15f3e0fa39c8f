package dev.gblm.stream.pipeline;

import static dev.gblm.testing.StreamTestSupport.await;
import static dev.gblm.testing.StreamTestSupport.readCommitted;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gblm.engine.LlamaModel;
import dev.gblm.eval.Perplexity;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.HoldOut;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.worker.SampleDecoder;
import dev.gblm.testing.StreamTestSupport;
import dev.gblm.testing.TestData;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Held-out quality per epoch on a real embedded broker: stories260K, 120 TinyStories validation stories (800..919) in
 * one stream, workers holding out a quarter of the records (by the hash rule), one re-pruning gblm job at alpha 10
 * (a numeric alpha: the FINALIZEs carry the profile's s) holding out the same quarter, minSamples 48, refreshEvery
 * 24, window 0. Every record is ingested before the job, so the held-out set is fixed and every epoch is evaluated
 * on the same samples.
 *
 * <p>Checked: the held-out records are in no statistics (every slice counts them as {@code heldOut}, slices still
 * tile the offsets, epoch sample counts are the sums of their slices' samples, and the masks equal batch one-shot at
 * alpha 10 over exactly the non-held-out samples of the epoch); epochs 1 and 2 carry in report.json and in the
 * {@code gblm.models} event the pruned and dense held-out perplexities, which equal an independent evaluation of the
 * exported checkpoint and of the dense model on the held-out records read back from the topic.
 */
class HeldOutIntegrationTest {
    private static final String STREAM = "ho";
    private static final double HOLDOUT = 0.25;

    /**
     * A stream's records split by the hold-out rule at {@code fraction}: the held-out ones in (partition, offset) order
     * and the kept ones by {@code topic/partition/offset}, decoded as the workers would.
     */
    record Split(List<int[]> heldOut, Map<String, int[]> kept) {}

    static Split split(String bootstrap, String stream, double fraction, Tokenizer tok, Checkpoint ckpt, int seqLen,
            int expectedRecords) {
        String topic = Topics.calibrationTopic(stream);
        SampleDecoder decoder = new SampleDecoder(tok, ckpt.config().vocabSize(), seqLen);
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(readCommitted(bootstrap, topic));
        records.sort(Comparator.<ConsumerRecord<byte[], byte[]>>comparingInt(ConsumerRecord::partition)
                .thenComparingLong(ConsumerRecord::offset));
        assertThat(records).hasSize(expectedRecords);
        List<int[]> heldOut = new ArrayList<>();
        Map<String, int[]> kept = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : records) {
            int[] t = ((SampleDecoder.Accepted) decoder.decode(r.key(), r.value(), null)).tokens();
            if (HoldOut.isHeldOut(topic, r.key(), fraction)) {
                heldOut.add(t);
            } else {
                kept.put(topic + "/" + r.partition() + "/" + r.offset(), t);
            }
        }
        return new Split(heldOut, kept);
    }

    @Test
    void eachEpochReportsItsHeldOutPerplexityAndHeldOutSamplesStayOutOfTheStatistics(@TempDir Path tmp) throws Exception {
        Path model = TestData.require("models/stories260K.bin");
        Path file = tmp.resolve("docs.txt");
        List<String> docs = StreamTestSupport.writeStories(file, 800, 920);
        Path out = tmp.resolve("out");
        Checkpoint ckpt = Checkpoints.load(model);
        Tokenizer tok = Tokenizers.load(model, null);
        PipelineSettings o = PipelineSettings.builder(model, out).samplesPerSlice(8).maxSliceAge(Duration.ofSeconds(2))
                .instance("ho").holdout(HOLDOUT).build();
        JobSpec job = new JobSpec("ho-gblm", "0000000000000000", List.of(STREAM), "gblm", 0.5, "unstructured", null, "l1",
                48, 24, 0, null, "10", null, HOLDOUT);
        try (Pipeline p = new Pipeline(o).start()) {
            String bs = p.bootstrapServers();
            p.ingest(file, STREAM, DocumentReader.Format.TEXT);
            p.submit(job);
            await("epochs 1 and 2 exported", Duration.ofMinutes(3),
                    () -> p.exported().containsKey("ho-gblm/1") && p.exported().containsKey("ho-gblm/2"));

            String topic = Topics.calibrationTopic(STREAM);
            Split split = split(bs, STREAM, HOLDOUT, tok, ckpt, p.profile().seqLen(), docs.size());
            List<int[]> heldOut = split.heldOut();
            Map<String, int[]> kept = split.kept();
            assertThat(heldOut.size()).isBetween(10, 50);

            // --- held-out records are in no statistics, but their offsets are consumed
            List<SliceRecord> slices = StreamTestSupport.slices(bs, Set.of(STREAM));
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bs))) {
                StreamTestSupport.assertTiling(slices, StreamTestSupport.ends(admin, topic, 3));
            }
            long heldOutCounted = slices.stream().mapToLong(SliceRecord::heldOut).sum();
            long samples = slices.stream().mapToLong(SliceRecord::samples).sum();
            assertThat(samples + heldOutCounted).isEqualTo(docs.size());
            Map<String, SliceRecord> byId = new LinkedHashMap<>();
            slices.forEach(s -> byId.put(s.sliceId(), s));
            assertThat(heldOutCounted).isEqualTo(heldOut.size());
            assertThat(samples).isEqualTo(kept.size());

            Map<Integer, EpochRecord> epochs = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : readCommitted(bs, Topics.EPOCHS.name())) {
                EpochRecord e = Json.read(r.value(), EpochRecord.class).validate();
                epochs.put(e.epoch(), e);
            }
            Map<Integer, JsonNode> events = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : readCommitted(bs, Topics.MODELS.name())) {
                JsonNode m = Json.mapper().readTree(r.value());
                events.put(m.path("epoch").asInt(), m);
            }
            double denseExpected;
            try (LlamaModel dense = LlamaModel.load(ckpt)) {
                denseExpected = Perplexity.evaluate(dense, heldOut, null).perplexity();
            }
            for (int epoch = 1; epoch <= 2; epoch++) {
                EpochRecord e = epochs.get(epoch);
                assertThat(e.profileSpec()).isEqualTo(p.profile());
                List<SliceRecord> used = e.mergeOrder().stream().map(byId::get).toList();
                assertThat(e.samples()).isEqualTo(used.stream().mapToLong(SliceRecord::samples).sum());
                List<int[]> epochSamples = StreamTestSupport.samplesOf(used, kept);
                assertThat(epochSamples).hasSize((int) e.samples());
                Path dir = out.resolve("ho-gblm").resolve("epoch-" + epoch);
                long[] d = StreamTestSupport.batchDisagreement(dir, ckpt, epochSamples, e.spec().pruneSettings());
                assertThat((double) d[0] / d[1]).as("epoch %d vs batch at alpha 10", epoch).isLessThanOrEqualTo(1e-3);

                JsonNode report = Json.mapper().readTree(dir.resolve("report.json").toFile()).path("heldOut");
                double pruned;
                try (LlamaModel m = LlamaModel.load(Checkpoints.load(dir))) {
                    pruned = Perplexity.evaluate(m, heldOut, null).perplexity();
                }
                System.out.printf("held-out epoch %d: %d samples (%d statistics samples), pruned %.4f, dense %.4f, "
                        + "%d of %d mask bits differ from batch%n", epoch, report.path("samples").asInt(), e.samples(),
                        report.path("perplexity").asDouble(), report.path("densePerplexity").asDouble(), d[0], d[1]);
                assertThat(report.path("samples").asInt()).isEqualTo(heldOut.size());
                assertThat(report.path("perplexity").asDouble()).isCloseTo(pruned, within(1e-6 * pruned));
                assertThat(report.path("densePerplexity").asDouble()).isCloseTo(denseExpected, within(1e-6 * denseExpected));
                assertThat(pruned).isGreaterThan(denseExpected);

                ModelReady ready = p.exported().get("ho-gblm/" + epoch);
                assertThat(ready.heldOutPerplexity()).isEqualTo(report.path("perplexity").asDouble());
                assertThat(ready.denseHeldOutPerplexity()).isEqualTo(report.path("densePerplexity").asDouble());
                assertThat(ready.heldOutSamples()).isEqualTo(heldOut.size());
                assertThat(events.get(epoch).path("heldOutPerplexity").asDouble()).isEqualTo(ready.heldOutPerplexity());
            }
            assertThat(p.metrics().meters().find("gblm.exporter.heldout.perplexity").tag("model", "dense").gauge().value())
                    .isCloseTo(denseExpected, within(1e-6 * denseExpected));
        }
    }
}
