package dev.gblm.stream.exporter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import dev.gblm.eval.Perplexity;
import dev.gblm.model.Checkpoint;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.prune.Mask;
import dev.gblm.prune.batch.DenseCopy;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.Json;
import dev.gblm.stream.Topics;
import dev.gblm.stream.worker.SampleDecoder;
import dev.gblm.tokenizer.Tokenizer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Held-out quality of an exported epoch: the perplexity of the pruned model (the epoch's masks on the dense weights)
 * and of the dense model on the job's held-out samples, for the {@code heldOut} object of {@code report.json}.
 *
 * <p><b>Which samples.</b> The records of the job's streams held out at the job's fraction ({@link
 * dev.gblm.stream.HoldOut}; the workers never put them into statistics), in the order (stream name, partition,
 * offset), decoded exactly as a worker of the epoch's profile would decode them ({@link SampleDecoder}, the
 * profile's sequence length), undecodable ones skipped; the first {@code maxSamples}. Once a stream holds that many
 * the set is fixed, so the epochs of a job are compared on the same text. The set is named by a digest of its
 * (topic, partition, offset) list; the dense perplexity is computed once per job and set in this process.
 *
 * <p>The values are written into {@code report.json} with the export, so a replayed epoch reads them back instead of
 * recomputing. A job with hold-out 0 gets nothing. An evaluation that fails for a reason other than Kafka (no
 * tokenizer for text samples, ...) is recorded as {@code error} rather than blocking the export; a Kafka error
 * propagates, so the export is retried.
 */
class HeldOutEvaluator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HeldOutEvaluator.class);
    static final String REPORT_FIELD = "heldOut";

    private final Checkpoint checkpoint;
    private final Supplier<Tokenizer> tokenizer;
    private final HeldOutSource source;
    private final int maxSamples;
    private final MeterRegistry meters;
    private final Map<String, LossResult> dense = new HashMap<>();
    private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();
    private final Map<String, Integer> lastEpoch = new HashMap<>();
    private LlamaModel model;
    private DenseCopy denseWeights;

    /** @param tokenizer called once, when the first held-out sample needs decoding; may return null (no tokenizer) */
    HeldOutEvaluator(Checkpoint checkpoint, Supplier<Tokenizer> tokenizer, HeldOutSource source, int maxSamples,
            MeterRegistry meters) {
        if (maxSamples < 1) {
            throw new IllegalArgumentException("maxSamples must be >= 1: " + maxSamples);
        }
        this.checkpoint = checkpoint;
        this.tokenizer = tokenizer;
        this.source = source;
        this.maxSamples = maxSamples;
        this.meters = meters;
    }

    /** The held-out samples of an epoch's job, as token ids, with the (topic, partition, offset) they came from. */
    record Samples(List<int[]> tokens, List<String> positions) {
        String digest() {
            try {
                MessageDigest d = MessageDigest.getInstance("SHA-256");
                for (String p : positions) {
                    d.update((p + "\n").getBytes(StandardCharsets.UTF_8));
                }
                return HexFormat.of().formatHex(d.digest(), 0, 8);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private Tokenizer tok;
    private boolean tokLoaded;

    Samples samples(EpochRecord e) {
        int seqLen = e.profileSpec() != null ? e.profileSpec().seqLen() : checkpoint.config().maxPositionEmbeddings();
        if (!tokLoaded) {
            tok = tokenizer.get();
            tokLoaded = true;
        }
        SampleDecoder decoder = new SampleDecoder(tok, checkpoint.config().vocabSize(), seqLen);
        List<int[]> tokens = new ArrayList<>();
        List<String> positions = new ArrayList<>();
        int[] undecodable = {0};
        for (String stream : e.spec().streams().stream().sorted().toList()) {
            boolean more = source.scan(Topics.calibrationTopic(stream), e.spec().holdout(), s -> {
                if (decoder.decode(s.key(), s.value(), s.format()) instanceof SampleDecoder.Accepted a) {
                    tokens.add(a.tokens());
                    positions.add(s.topic() + "/" + s.partition() + "/" + s.offset());
                } else {
                    undecodable[0]++;
                }
                return tokens.size() < maxSamples;
            });
            if (!more) {
                break;
            }
        }
        if (undecodable[0] > 0) {
            LOG.info("job {}: {} held-out records could not be decoded and are not evaluated", e.job(), undecodable[0]);
        }
        return new Samples(tokens, positions);
    }

    /**
     * The {@code heldOut} report object of epoch {@code e} pruned with {@code masks}, or null when the job holds out
     * nothing.
     */
    ObjectNode evaluate(EpochRecord e, Map<ModuleKey, Mask> masks) {
        List<ObjectNode> one = evaluateEach(e, List.of(masks));
        return one == null ? null : one.get(0);
    }

    /**
     * One {@code heldOut} report object per candidate masks of epoch {@code e} (the grid points of an
     * {@code alpha=auto} epoch), in order, or null when the job holds out nothing. The samples are read and the dense
     * model evaluated once for all; {@code seconds} of a candidate is its pruned evaluation, the first's also includes
     * reading the samples and the dense evaluation. Overridden by tests that choose among fixed figures.
     */
    List<ObjectNode> evaluateEach(EpochRecord e, List<Map<ModuleKey, Mask>> candidates) {
        double fraction = e.spec().holdout();
        if (!(fraction > 0)) {
            return null;
        }
        List<ObjectNode> out = new ArrayList<>(candidates.size());
        for (int i = 0; i < candidates.size(); i++) {
            ObjectNode n = Json.mapper().createObjectNode();
            n.put("fraction", fraction);
            n.put("maxSamples", maxSamples);
            out.add(n);
        }
        int at = 0;
        try {
            long t0 = System.nanoTime();
            Samples s = samples(e);
            out.forEach(n -> n.put("samples", s.tokens().size()));
            if (s.tokens().isEmpty()) {
                out.forEach(n -> n.put("error", "no held-out samples in the job's streams yet"));
                LOG.warn("job {} epoch {}: no held-out samples to evaluate", e.job(), e.epoch());
                return out;
            }
            String set = s.digest();
            out.forEach(n -> n.put("set", set));
            if (model == null) {
                model = LlamaModel.load(checkpoint);
                denseWeights = DenseCopy.of(model);
            }
            String id = e.job() + "/" + e.epoch();
            LossResult d = dense.get(e.job() + "|" + set);
            if (d == null) {
                denseWeights.restore(model);
                d = Perplexity.evaluate(model, s.tokens(), progress(id + " dense"));
                dense.put(e.job() + "|" + set, d);
            }
            for (; at < candidates.size(); at++) {
                String what = candidates.size() == 1 ? id : id + " alpha " + at;
                denseWeights.restoreMasked(model, candidates.get(at));
                LossResult p = Perplexity.evaluate(model, s.tokens(), progress(what + " pruned"));
                ObjectNode n = out.get(at);
                n.put("tokens", p.count());
                n.put("perplexity", p.perplexity());
                n.put("meanNll", p.meanNll());
                n.put("densePerplexity", d.perplexity());
                n.put("denseMeanNll", d.meanNll());
                n.put("seconds", (System.nanoTime() - t0) / 1e9);
                t0 = System.nanoTime();
                LOG.info("job {}: held-out perplexity {} (dense {}) on {} samples, {} tokens", what, p.perplexity(),
                        d.perplexity(), s.tokens().size(), p.count());
            }
            return out;
        } catch (KafkaException ex) {
            throw ex;
        } catch (RuntimeException ex) {
            LOG.warn("job {} epoch {}: held-out evaluation failed: {}", e.job(), e.epoch(), ex.toString());
            for (int i = at; i < out.size(); i++) {
                out.get(i).put("error", String.valueOf(ex.getMessage()));
            }
            return out;
        }
    }

    /** Frees the model's native memory (it is loaded again if needed). */
    @Override
    public void close() {
        if (model != null) {
            model.close();
            model = null;
            denseWeights = null;
        }
    }

    private static Perplexity.Listener progress(String what) {
        return (done, total, soFar) -> {
            if (done == total || done % 16 == 0) {
                LOG.info("held-out {}: {}/{} samples, perplexity so far {}", what, done, total, soFar.perplexity());
            }
        };
    }

    /**
     * Sets the gauges {@code gblm.exporter.heldout.perplexity{gblm_job, model=pruned|dense}} from a report's
     * {@code heldOut} object (written now or read back on a replay); nothing when it has no perplexity or a later
     * epoch of the job was recorded already.
     */
    void record(String job, int epoch, JsonNode heldOut) {
        if (heldOut == null || !heldOut.path("perplexity").isNumber() || lastEpoch.getOrDefault(job, 0) > epoch) {
            return;
        }
        lastEpoch.put(job, epoch);
        gauge(job, "pruned").set(Double.doubleToLongBits(heldOut.path("perplexity").asDouble()));
        gauge(job, "dense").set(Double.doubleToLongBits(heldOut.path("densePerplexity").asDouble(Double.NaN)));
    }

    private AtomicLong gauge(String job, String which) {
        return gauges.computeIfAbsent(job + "|" + which, k -> {
            AtomicLong v = new AtomicLong(Double.doubleToLongBits(Double.NaN));
            Gauge.builder("gblm.exporter.heldout.perplexity", v, x -> Double.longBitsToDouble(x.get()))
                    .tag(GblmMetrics.JOB_TAG, job).tag("model", which)
                    .description("perplexity on the job's held-out samples of its latest exported epoch (pruned) and of "
                            + "the dense model").register(meters);
            return v;
        });
    }

    /** The perplexity fields of a report's {@code heldOut} object, for the model-ready event (nulls when absent). */
    static Double perplexity(JsonNode heldOut, String field) {
        JsonNode v = heldOut == null ? null : heldOut.get(field);
        return v != null && v.isNumber() ? v.asDouble() : null;
    }
}
