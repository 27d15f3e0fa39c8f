package dev.gblm.stream.finalizer;

import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stats.StatsFormatException;
import dev.gblm.stream.BlockAck;
import dev.gblm.stream.BlockInstruction;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.RecordFormatException;
import dev.gblm.stream.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The block aggregator, partitioned like {@code gblm.stats} (sources {@code gblm.stats} and {@code gblm.finalize},
 * same key bytes, same partition count). Stores each slice's statistics block under {@code blockKey|sliceId};
 * a FINALIZE instruction sums exactly the epoch's slices — or waits in the pending store until they are all present,
 * re-checked whenever a statistics block arrives — then emits the mask block and an ack to the planner. RETIRE
 * deletes the named slices' blocks; CLAIM marks them live.
 *
 * <p>Bounded state: a wall-clock punctuator deletes blocks older than {@code orphanRetention} whose slice the planner
 * never claimed and no pending FINALIZE lists (statistics without an accepted slice record). A rejected statistics
 * record of a valid block key and slice id also tells the planner (a {@link Topics#HEADER_BAD_SLICE} notice on
 * gblm.finalize-acks) so that it never plans that slice into an epoch.
 */
final class BlockProcessor implements Processor<String, byte[], String, byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(BlockProcessor.class);

    /** Block-times value of a claimed block: exempt from the orphan sweep. */
    static final byte[] CLAIMED = new byte[0];

    private final DenseWeights weights;
    private final FinalizerSettings settings;
    private final FinalizerMetrics metrics;
    private ProcessorContext<String, byte[]> ctx;
    private KeyValueStore<String, byte[]> blocks;
    private KeyValueStore<String, byte[]> pending;
    private KeyValueStore<String, byte[]> times;
    private long myPending;

    BlockProcessor(DenseWeights weights, FinalizerSettings settings, FinalizerMetrics metrics) {
        this.weights = weights;
        this.settings = settings;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        ctx = context;
        blocks = context.getStateStore(FinalizerTopology.BLOCKS_STORE);
        pending = context.getStateStore(FinalizerTopology.PENDING_STORE);
        times = context.getStateStore(FinalizerTopology.BLOCK_TIMES_STORE);
        context.schedule(settings.orphanSweepInterval(), PunctuationType.WALL_CLOCK_TIME, this::sweepOrphans);
        try (KeyValueIterator<String, byte[]> it = pending.all()) {
            while (it.hasNext()) {
                it.next();
                myPending++;
            }
        }
        metrics.pendingBlocks.addAndGet(myPending);
    }

    @Override
    public void close() {
        metrics.pendingBlocks.addAndGet(-myPending);
        myPending = 0;
    }

    @Override
    public void process(Record<String, byte[]> rec) {
        String topic = ctx.recordMetadata().map(m -> m.topic()).orElse(Topics.STATS.name());
        if (topic.equals(Topics.FINALIZE.name())) {
            onInstruction(rec);
        } else {
            onStats(rec);
        }
    }

    private void onStats(Record<String, byte[]> rec) {
        BlockKey key;
        try {
            key = BlockKey.parse(rec.key());
        } catch (RecordFormatException e) {
            DeadLetters.send(ctx, metrics, rec, "unknown-block", e.getMessage());
            return;
        }
        Header sh = rec.headers().lastHeader(Topics.HEADER_SLICE);
        String slice = sh == null ? null : new String(sh.value(), StandardCharsets.UTF_8);
        if (slice == null || slice.isEmpty() || slice.indexOf('|') >= 0) {
            DeadLetters.send(ctx, metrics, rec, "missing-slice-id", "statistics record " + key + " has no valid " + Topics.HEADER_SLICE + " header");
            return;
        }
        ModuleStats s;
        try {
            s = StatsCodec.decode(rec.value());
        } catch (StatsFormatException e) {
            DeadLetters.send(ctx, metrics, rec, "corrupt-stats", e.getMessage());
            return;
        }
        if (s.layer() != key.layer() || s.module() != key.module() || s.rowStart() != key.rowStart()) {
            DeadLetters.send(ctx, metrics, rec, "key-mismatch", "key " + key + " holds " + s.describe());
            notifyBadSlice(key, slice, "key-mismatch", rec.timestamp());
            return;
        }
        if (key.layer() >= weights.numLayers()) {
            DeadLetters.send(ctx, metrics, rec, "unknown-block", "the model has " + weights.numLayers() + " layers, record is for " + s.describe());
            return;
        }
        int[] shape = weights.shape(key.layer(), key.module());
        if (s.in() != shape[1] || s.rowEnd() > shape[0]) {
            DeadLetters.send(ctx, metrics, rec, "wrong-shape", s.describe() + " does not fit the model's [" + shape[0] + "," + shape[1] + "] weight");
            notifyBadSlice(key, slice, "wrong-shape", rec.timestamp());
            return;
        }
        String storeKey = key + "|" + slice;
        blocks.put(storeKey, rec.value());
        if (times.get(storeKey) == null) { // a CLAIM may have come first
            times.put(storeKey, encodeTime(System.currentTimeMillis()));
        }
        metrics.statsStored.increment();
        List<KeyValue<String, byte[]>> waiting = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = pending.prefixScan(key + "|", new StringSerializer())) {
            it.forEachRemaining(waiting::add);
        }
        for (KeyValue<String, byte[]> w : waiting) {
            BlockInstruction c = Json.read(w.value, BlockInstruction.class);
            if (c.sliceIds().contains(slice) && tryFinalize(key, c, rec.timestamp())) {
                pending.delete(w.key);
                myPending--;
                metrics.pendingBlocks.decrementAndGet();
            }
        }
    }

    private void onInstruction(Record<String, byte[]> rec) {
        BlockKey key;
        BlockInstruction c;
        try {
            key = BlockKey.parse(rec.key());
            c = Json.read(rec.value(), BlockInstruction.class);
        } catch (RecordFormatException e) {
            DeadLetters.send(ctx, metrics, rec, "invalid-instruction", e.getMessage());
            return;
        }
        if (c.type() == BlockInstruction.Type.RETIRE) {
            for (String id : c.sliceIds()) {
                blocks.delete(key + "|" + id);
                times.delete(key + "|" + id);
            }
            return;
        }
        if (c.type() == BlockInstruction.Type.CLAIM) {
            for (String id : c.sliceIds()) {
                times.put(key + "|" + id, CLAIMED);
            }
            return;
        }
        if (!tryFinalize(key, c, rec.timestamp())) {
            pending.put(key + "|" + c.job() + "|" + c.epoch(), rec.value());
            myPending++;
            metrics.pendingBlocks.incrementAndGet();
        }
    }

    /** Emits the block's mask when every listed slice's block is here; false (and nothing emitted) otherwise. */
    private boolean tryFinalize(BlockKey key, BlockInstruction c, long timestamp) {
        List<byte[]> records = new ArrayList<>(c.sliceIds().size());
        for (String id : c.sliceIds()) {
            byte[] b = blocks.get(key + "|" + id);
            if (b == null) {
                return false;
            }
            records.add(b);
        }
        if (layoutMismatch(key, c, records, timestamp)) {
            return true;
        }
        ModuleStats sum = records.isEmpty() ? null : BlockAggregation.sum(records);
        long bytes = 0;
        for (byte[] r : records) {
            bytes += r.length;
        }
        float[] w = weights.rows(key.layer(), key.module(), key.rowStart(), c.rowEnd());
        Mask mask = BlockAggregation.mask(c.spec(), w, key.rowStart(), c.rowEnd(), c.in(), sum, c.magnitudeThreshold());
        MaskBlock mb = new MaskBlock(key.layer(), key.module(), key.rowStart(), c.rowEnd(), mask);
        RecordHeaders h = new RecordHeaders();
        h.add(Topics.HEADER_EPOCH, Integer.toString(c.epoch()).getBytes(StandardCharsets.UTF_8));
        ctx.forward(new Record<>(MaskBlock.key(c.job(), c.epoch(), key.layer(), key.module(), key.rowStart()), mb.encode(),
                timestamp, h), FinalizerTopology.MASKS_SINK);
        ctx.forward(new Record<>(key.profile(), Json.write(new BlockAck(c.job(), c.epoch(), key.toString())), timestamp),
                FinalizerTopology.ACKS_SINK);
        metrics.statsMerged.increment(records.size());
        metrics.bytesMerged.increment(bytes);
        metrics.maskBlocks.increment();
        return true;
    }

    /**
     * Every listed slice's record must cover exactly the layout's rows and columns. The stored blocks already fit the
     * model (checked on arrival), so a mismatch means a worker used another row-block layout than the epoch's: each
     * offending record goes to the DLQ ({@code layout-mismatch}) and the planner is told its slice is bad. No mask is
     * emitted — the epoch cannot be completed from these statistics, and an error names it.
     */
    private boolean layoutMismatch(BlockKey key, BlockInstruction c, List<byte[]> records, long timestamp) {
        boolean bad = false;
        for (int i = 0; i < records.size(); i++) {
            ModuleStats s = StatsCodec.decode(records.get(i));
            if (s.rowEnd() == c.rowEnd() && s.in() == c.in()) {
                continue;
            }
            bad = true;
            String slice = c.sliceIds().get(i);
            RecordHeaders h = new RecordHeaders();
            h.add(Topics.HEADER_SLICE, slice.getBytes(StandardCharsets.UTF_8));
            DeadLetters.send(ctx, metrics, new Record<>(key.toString(), records.get(i), timestamp, h), "layout-mismatch",
                    "slice " + slice + " block " + s.describe() + " but the layout of job " + c.job() + " epoch " + c.epoch()
                            + " says rows [" + key.rowStart() + "," + c.rowEnd() + ") in " + c.in());
            notifyBadSlice(key, slice, "layout-mismatch", timestamp);
        }
        if (bad) {
            LOG.error("block {} of job {} epoch {}: statistics disagree with the layout; emitting no mask, the epoch stays incomplete",
                    key, c.job(), c.epoch());
        }
        return bad;
    }

    /** Tells the planner (co-partitioned with gblm.slices by profile) that {@code slice} must never be planned. */
    private void notifyBadSlice(BlockKey key, String slice, String reason, long timestamp) {
        RecordHeaders h = new RecordHeaders();
        h.add(Topics.HEADER_BAD_SLICE, slice.getBytes(StandardCharsets.UTF_8));
        h.add(Topics.HEADER_REASON, reason.getBytes(StandardCharsets.UTF_8));
        ctx.forward(new Record<>(key.profile(), Json.write(new BlockAck(null, 0, key.toString())), timestamp, h),
                FinalizerTopology.ACKS_SINK);
    }

    /** Punctuator: deletes unclaimed blocks past orphanRetention that no pending FINALIZE lists. */
    private void sweepOrphans(long now) {
        long cutoff = now - settings.orphanRetention().toMillis();
        Set<String> referenced = new HashSet<>();
        try (KeyValueIterator<String, byte[]> it = pending.all()) {
            while (it.hasNext()) {
                referenced.addAll(Json.read(it.next().value, BlockInstruction.class).sliceIds());
            }
        }
        List<String> expired = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = times.all()) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                if (kv.value.length == Long.BYTES && decodeTime(kv.value) < cutoff
                        && !referenced.contains(kv.key.substring(kv.key.lastIndexOf('|') + 1))) {
                    expired.add(kv.key);
                }
            }
        }
        for (String k : expired) {
            blocks.delete(k);
            times.delete(k);
        }
        if (!expired.isEmpty()) {
            metrics.orphansDeleted.increment(expired.size());
            LOG.warn("orphan sweep: deleted {} statistics blocks older than {} whose slice was never accepted (e.g. {})",
                    expired.size(), settings.orphanRetention(), expired.get(0));
        }
    }

    static byte[] encodeTime(long millis) {
        return ByteBuffer.allocate(Long.BYTES).putLong(millis).array();
    }

    static long decodeTime(byte[] b) {
        return ByteBuffer.wrap(b).getLong();
    }
}
