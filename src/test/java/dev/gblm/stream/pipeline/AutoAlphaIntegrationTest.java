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
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.batch.AlphaSearch;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.testing.StreamTestSupport;
import dev.gblm.testing.TestData;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A streaming gblm job with {@code alpha=auto} on a real embedded broker: the setup of {@link HeldOutIntegrationTest}
 * (stories260K, 120 TinyStories validation stories 800..919 in one stream, workers and job holding out a quarter,
 * minSamples 48, refreshEvery 24, window 0), the default grid 0, 1, 10, 100, 1000, 10000, inf.
 *
 * <p>Checked per epoch (1 and 2): report.json records the grid with a held-out perplexity per point and the choice;
 * the chosen alpha is the argmin of the recorded perplexities (ties to the smaller alpha, as the batch search); the
 * recorded figure of the chosen point equals an independent evaluation of the exported checkpoint on the held-out
 * records read back from the topic; the model-ready event carries the same choice; and the exported masks equal
 * batch one-shot at the chosen alpha over exactly the epoch's kept samples (within the near-tie bound of the other
 * stream = batch tests).
 */
class AutoAlphaIntegrationTest {
    private static final String STREAM = "aa";
    private static final double HOLDOUT = 0.25;
    private static final String JOB = "aa-gblm";

    @Test
    void eachEpochExportsTheGridAlphaWithTheLowestHeldOutPerplexity(@TempDir Path tmp)
            throws Exception {
        Path model = TestData.require("models/stories260K.bin");
        Path file = tmp.resolve("docs.txt");
        List<String> docs = StreamTestSupport.writeStories(file, 800, 920);
        Path out = tmp.resolve("out");
        Checkpoint ckpt = Checkpoints.load(model);
        Tokenizer tok = Tokenizers.load(model, null);
        PipelineSettings o = PipelineSettings.builder(model, out).samplesPerSlice(8).maxSliceAge(Duration.ofSeconds(2))
                .instance("aa").holdout(HOLDOUT).build();
        JobSpec job = new JobSpec(JOB, "0000000000000000", List.of(STREAM), "gblm", 0.5, "unstructured", null, "l1",
                48, 24, 0, null, "auto", null, HOLDOUT);
        try (Pipeline p = new Pipeline(o).start()) {
            String bs = p.bootstrapServers();
            p.ingest(file, STREAM, DocumentReader.Format.TEXT);
            p.submit(job);
            await("epochs 1 and 2 exported", Duration.ofMinutes(4),
                    () -> p.exported().containsKey(JOB + "/1") && p.exported().containsKey(JOB + "/2"));

            HeldOutIntegrationTest.Split split = HeldOutIntegrationTest.split(bs, STREAM, HOLDOUT, tok, ckpt,
                    p.profile().seqLen(), docs.size());
            List<int[]> heldOut = split.heldOut();
            assertThat(heldOut.size()).isBetween(10, 50);
            Map<String, SliceRecord> byId = new LinkedHashMap<>();
            StreamTestSupport.slices(bs, Set.of(STREAM)).forEach(s -> byId.put(s.sliceId(), s));
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
            List<String> defaultGrid = AlphaSearch.DEFAULT_GRID.stream().map(PruneSettings::alphaText).toList();
            for (int epoch = 1; epoch <= 2; epoch++) {
                EpochRecord e = epochs.get(epoch);
                assertThat(e.spec().alphaGrid()).isEqualTo(defaultGrid);
                Path dir = out.resolve(JOB).resolve("epoch-" + epoch);
                JsonNode report = Json.mapper().readTree(dir.resolve("report.json").toFile());
                JsonNode auto = report.path("autoAlpha");
                assertThat(auto.path("grid")).hasSize(defaultGrid.size());
                List<AlphaSearch.Point> points = new ArrayList<>();
                for (JsonNode g : auto.path("grid")) {
                    double alpha = g.path("alpha").isNumber() ? g.path("alpha").asDouble() : Double.POSITIVE_INFINITY;
                    points.add(new AlphaSearch.Point(alpha, g.path("heldOutPerplexity").asDouble(Double.NaN), 0, 0, 0, 0));
                }
                assertThat(points).allSatisfy(pt -> assertThat(pt.heldOutPerplexity()).isFinite());
                // the choice minimises the recorded figures: argmin, ties to the smaller alpha (independent loop)
                int argmin = 0;
                for (int i = 1; i < points.size(); i++) {
                    if (points.get(i).heldOutPerplexity() < points.get(argmin).heldOutPerplexity()) {
                        argmin = i;
                    }
                }
                assertThat(auto.path("chosenIndex").asInt()).isEqualTo(argmin);
                double chosen = points.get(argmin).alpha();
                assertThat(PruneSettings.alphaText(chosen)).isEqualTo(defaultGrid.get(argmin));
                assertThat(report.path("options").path("alphaChoice").asText()).isEqualTo("auto");
                double chosenPpl = points.get(argmin).heldOutPerplexity();
                assertThat(report.path("heldOut").path("perplexity").asDouble()).isEqualTo(chosenPpl);

                // the exported model is the chosen one: its held-out perplexity, evaluated independently
                double exported;
                try (LlamaModel m = LlamaModel.load(Checkpoints.load(dir))) {
                    exported = Perplexity.evaluate(m, heldOut, null).perplexity();
                }
                assertThat(exported).isCloseTo(chosenPpl, within(1e-6 * chosenPpl));

                List<SliceRecord> used = e.mergeOrder().stream().map(byId::get).toList();
                List<int[]> epochSamples = StreamTestSupport.samplesOf(used, split.kept());
                assertThat(epochSamples).hasSize((int) e.samples());
                long[] d = StreamTestSupport.batchDisagreement(dir, ckpt, epochSamples, e.spec().pruneSettings(chosen));
                System.out.printf("auto alpha epoch %d: grid perplexities %s, chosen alpha %s (%.4f), %d held-out samples, "
                        + "%d of %d mask bits differ from batch%n", epoch, points.stream().map(pt -> String.format(
                                Locale.ROOT, "%s=%.4f", PruneSettings.alphaText(pt.alpha()), pt.heldOutPerplexity()))
                        .toList(), PruneSettings.alphaText(chosen), chosenPpl, heldOut.size(), d[0], d[1]);
                assertThat((double) d[0] / d[1]).as("epoch %d vs batch at alpha %s", epoch, chosen).isLessThanOrEqualTo(1e-3);

                ModelReady ready = p.exported().get(JOB + "/" + epoch);
                assertThat(ready.alpha()).isEqualTo(PruneSettings.alphaText(chosen));
                assertThat(ready.alphaGrid()).extracting(ModelReady.AlphaPoint::alpha).isEqualTo(defaultGrid);
                assertThat(ready.heldOutPerplexity()).isEqualTo(chosenPpl);
                assertThat(events.get(epoch).path("alpha").asText()).isEqualTo(ready.alpha());
            }
        }
    }
}
