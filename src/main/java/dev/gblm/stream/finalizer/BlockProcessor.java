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
import dev.gblm.stream.Profile;
import dev.gblm.stream.RecordFormatException;
import dev.gblm.stream.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.apache.kafka.common.KafkaException;
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
 * re-checked whenever a statistics block arrives — then emits the mask block (header {@link Topics#HEADER_FINALIZER}
 * = this application id) and an ack to the planner. RETIRE deletes the named slices' blocks, once no pending FINALIZE
 * lists them; CLAIM marks them live.
 *
 * <p>Bounded state: a wall-clock punctuator reports to the planner every block still unclaimed {@code orphanRetention}
 * after its arrival and listed by no pending FINALIZE ({@link FinalizerTopology#HEADER_UNCLAIMED} notice on
 * gblm.finalize-acks); the planner answers with CLAIM (it accepted the slice meanwhile) or RETIRE (it never will).
 * Deleting is left to the planner because only it knows whether an epoch may still list the slice. A rejected
 * statistics record of a valid block key and slice id also tells the planner (a {@link Topics#HEADER_BAD_SLICE}
 * notice) so that it never plans that slice into an epoch.
 */
final class BlockProcessor implements Processor<String, byte[], String, byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(BlockProcessor.class);

    /** Block-times value of a claimed block: exempt from the orphan sweep. */
    static final byte[] CLAIMED = new byte[0];
    /** Block-times value of a block RETIREd while a pending FINALIZE lists its slice: deleted once none does. */
    static final byte[] RETIRING = {'R'};

    private final DenseWeights weights;
    private final FinalizerSettings settings;
    private final FinalizerMetrics metrics;
    private ProcessorContext<String, byte[]> ctx;
    private KeyValueStore<String, byte[]> blocks;
    private KeyValueStore<String, byte[]> pending;
    private KeyValueStore<String, byte[]> times;
    private KeyValueStore<String, byte[]> bases;
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
        bases = context.getStateStore(FinalizerTopology.BASES_STORE);
        context.schedule(settings.orphanSweepInterval(), PunctuationType.WALL_CLOCK_TIME,
                DeadLetters.guarded("orphan report", metrics, this::reportOrphans));
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
        DeadLetters.processOrDeadLetter(ctx, metrics, rec, r -> {
            String topic = ctx.recordMetadata().map(m -> m.topic()).orElse(Topics.STATS.name());
            if (topic.equals(Topics.FINALIZE.name())) {
                onInstruction(r);
            } else {
                onStats(r);
            }
        });
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
        // the block task cannot see the profile, but the planner accepts only streaming profiles: statistics of other
        // kinds belong to no slice it will plan, and stored they would make the FINALIZE that merges them throw
        if (!s.kinds().equals(Profile.STREAMING_KINDS)) {
            DeadLetters.send(ctx, metrics, rec, "wrong-kinds", s.describe() + " but every profile the finalizer serves has "
                    + Profile.STREAMING_KINDS);
            notifyBadSlice(key, slice, "wrong-kinds", rec.timestamp());
            return;
        }
        if (s.sampleCount() <= 0) {
            // a slice has samples; scores divide by the count
            DeadLetters.send(ctx, metrics, rec, "empty-stats", s.describe() + " counts no samples");
            notifyBadSlice(key, slice, "empty-stats", rec.timestamp());
            return;
        }
        String storeKey = key + "|" + slice;
        blocks.put(storeKey, rec.value());
        if (times.get(storeKey) == null) { // a CLAIM may have come first
            times.put(storeKey, encodeTime(ctx.currentSystemTimeMs()));
        }
        metrics.statsStored.increment();
        retryPending(key, c -> c.sliceIds().contains(slice), rec.timestamp());
    }

    /**
     * Re-tries the waiting instructions of {@code key} that {@code woken} selects: those listing a statistics block that
     * just arrived, or, after a FOLD, every one (a FINALIZE may wait for the base version it starts from).
     */
    private void retryPending(BlockKey key, Predicate<BlockInstruction> woken, long timestamp) {
        List<KeyValue<String, byte[]>> waiting = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = pending.prefixScan(key + "|", new StringSerializer())) {
            it.forEachRemaining(waiting::add);
        }
        boolean resolved = false;
        boolean folded = false;
        for (KeyValue<String, byte[]> w : waiting) {
            boolean done;
            try {
                BlockInstruction c = Json.read(w.value, BlockInstruction.class);
                done = woken.test(c) && tryApply(key, c, timestamp);
                folded |= done && c.type() == BlockInstruction.Type.FOLD;
            } catch (KafkaException e) {
                throw e;
            } catch (RuntimeException e) {
                // the waiting FINALIZE is the poison, not the statistics that woke it up: it leaves, they stay
                DeadLetters.send(ctx, metrics, new Record<>(key.toString(), w.value, timestamp), DeadLetters.PROCESSING_ERROR,
                        "pending FINALIZE " + w.key + ": " + DeadLetters.describe(e));
                done = true;
            }
            if (done) {
                pending.delete(w.key);
                myPending--;
                metrics.pendingBlocks.decrementAndGet();
                resolved = true;
            }
        }
        if (resolved) {
            dropRetired(key);
        }
        if (folded) {
            retryPending(key, c -> true, timestamp); // a FINALIZE may wait for the base version just made
        }
    }

    private void onInstruction(Record<String, byte[]> rec) {
        BlockKey key;
        BlockInstruction c;
        try {
            key = BlockKey.parse(rec.key());
            c = Json.read(rec.value(), BlockInstruction.class).validate();
        } catch (RecordFormatException e) {
            DeadLetters.send(ctx, metrics, rec, "invalid-instruction", e.getMessage());
            return;
        }
        if (c.type() == BlockInstruction.Type.RETIRE) {
            retire(key, c.sliceIds());
            return;
        }
        if (c.type() == BlockInstruction.Type.CLAIM) {
            for (String id : c.sliceIds()) {
                times.put(key + "|" + id, CLAIMED);
            }
            return;
        }
        if (c.type() == BlockInstruction.Type.FOLD) {
            if (tryFold(key, c)) {
                retryPending(key, w -> true, rec.timestamp()); // a FINALIZE may wait for this base version
            } else {
                waitPending(key, c, rec.value());
            }
            return;
        }
        String misfit = misfit(key, c);
        if (misfit != null) {
            DeadLetters.send(ctx, metrics, rec, "invalid-instruction", misfit);
            return;
        }
        if (!tryFinalize(key, c, rec.timestamp())) {
            waitPending(key, c, rec.value());
        }
    }

    private void waitPending(BlockKey key, BlockInstruction c, byte[] value) {
        String pk = pendingKey(key, c);
        if (pending.get(pk) == null) { // a replayed instruction waits once
            myPending++;
            metrics.pendingBlocks.incrementAndGet();
        }
        pending.put(pk, value);
    }

    /** FINALIZE waits under {@code key|job|epoch}, FOLD under {@code key|job|epoch|fold}: they never collide. */
    private static String pendingKey(BlockKey key, BlockInstruction c) {
        return key + "|" + c.job() + "|" + c.epoch() + (c.type() == BlockInstruction.Type.FOLD ? "|fold" : "");
    }

    private boolean tryApply(BlockKey key, BlockInstruction c, long timestamp) {
        return c.type() == BlockInstruction.Type.FOLD ? tryFold(key, c) : tryFinalize(key, c, timestamp);
    }

    /**
     * Applies a FOLD: the job's base of this block becomes version {@code c.epoch()} = the base it names (none for the
     * first) plus the listed slices, left-folded. Idempotent: if the stored base already has that version (a replayed
     * or repeated instruction) nothing changes. False (wait) while the named base version or a listed block is missing.
     */
    private boolean tryFold(BlockKey key, BlockInstruction c) {
        String bk = key + "|" + c.job();
        byte[] stored = bases.get(bk);
        int have = BlockAggregation.baseVersion(stored);
        if (have >= c.epoch()) {
            metrics.foldsReplayed.increment();
            return true;
        }
        int from = c.base() == null ? 0 : c.base().epoch();
        if (have != from) {
            LOG.warn("FOLD of job {} version {} at block {} starts from base version {} but the block has {}: waiting",
                    c.job(), c.epoch(), key, from, have);
            return false;
        }
        List<byte[]> records = storedRecords(key, c.sliceIds());
        if (records == null) {
            return false;
        }
        bases.put(bk, BlockAggregation.encodeBase(c.epoch(), BlockAggregation.sum(stored, records)));
        metrics.statsMerged.increment(records.size());
        return true;
    }

    /** Why a FINALIZE cannot apply to this model's block {@code key}, or null: its rows must lie inside the weight. */
    private String misfit(BlockKey key, BlockInstruction c) {
        if (key.layer() >= weights.numLayers()) {
            return "FINALIZE for " + key + " but the model has " + weights.numLayers() + " layers";
        }
        int[] shape = weights.shape(key.layer(), key.module());
        if (c.rowEnd() <= key.rowStart() || c.rowEnd() > shape[0] || c.in() != shape[1]) {
            return "FINALIZE rows [" + key.rowStart() + "," + c.rowEnd() + ") in " + c.in() + " do not fit the model's ["
                    + shape[0] + "," + shape[1] + "] weight";
        }
        return null;
    }

    /**
     * Deletes the slices' blocks of {@code key}, except those a pending FINALIZE still lists: RETIRE means "no epoch
     * will need them any more", and an epoch still waiting does. Those are marked {@link #RETIRING} and go when the
     * last FINALIZE listing them is resolved ({@link #dropRetired}).
     */
    private void retire(BlockKey key, List<String> sliceIds) {
        Set<String> listed = listedByPending(key);
        for (String id : sliceIds) {
            String k = key + "|" + id;
            if (listed.contains(id)) {
                times.put(k, RETIRING);
            } else {
                blocks.delete(k);
                times.delete(k);
            }
        }
    }

    /** Deletes the {@link #RETIRING} blocks of {@code key} that no pending FINALIZE lists any more. */
    private void dropRetired(BlockKey key) {
        Set<String> listed = listedByPending(key);
        List<String> gone = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = times.prefixScan(key + "|", new StringSerializer())) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                if (Arrays.equals(kv.value, RETIRING) && !listed.contains(kv.key.substring(kv.key.lastIndexOf('|') + 1))) {
                    gone.add(kv.key);
                }
            }
        }
        for (String k : gone) {
            blocks.delete(k);
            times.delete(k);
        }
    }

    private Set<String> listedByPending(BlockKey key) {
        Set<String> out = new HashSet<>();
        try (KeyValueIterator<String, byte[]> it = pending.prefixScan(key + "|", new StringSerializer())) {
            while (it.hasNext()) {
                out.addAll(Json.read(it.next().value, BlockInstruction.class).sliceIds());
            }
        }
        return out;
    }

    /**
     * Emits the block's mask when every listed slice's block and the base version the epoch starts from are here; false
     * (and nothing emitted) otherwise. A base already past that version means this epoch was finalized here before (the
     * planner folds an epoch only once all its blocks are acknowledged): a replay, dropped.
     */
    private boolean tryFinalize(BlockKey key, BlockInstruction c, long timestamp) {
        byte[] base = null;
        if (c.base() != null) {
            base = bases.get(key + "|" + c.base().job());
            int have = BlockAggregation.baseVersion(base);
            if (have < c.base().epoch()) {
                return false;
            }
            if (have > c.base().epoch()) {
                LOG.warn("FINALIZE of job {} epoch {} at block {}: the base is at version {} already, the epoch was finalized; "
                        + "ignored", c.job(), c.epoch(), key, have);
                return true;
            }
        }
        List<byte[]> records = storedRecords(key, c.sliceIds());
        if (records == null) {
            return false;
        }
        if (layoutMismatch(key, c, records, timestamp)) {
            return true;
        }
        ModuleStats sum = records.isEmpty() && base == null ? null : BlockAggregation.sum(base, records);
        long bytes = base == null ? 0 : base.length;
        for (byte[] r : records) {
            bytes += r.length;
        }
        float[] w = weights.rows(key.layer(), key.module(), key.rowStart(), c.rowEnd());
        List<Mask> masks = BlockAggregation.masks(c.spec(), c.gradScale(), w, key.rowStart(), c.rowEnd(), c.in(), sum,
                c.magnitudeThreshold());
        String maskKey = MaskBlock.key(c.job(), c.epoch(), key.layer(), key.module(), key.rowStart());
        boolean grid = c.spec().isAutoAlpha();
        // every grid point's block and the one ack go out in this task's transaction: one ack still means the whole block
        for (int i = 0; i < masks.size(); i++) {
            MaskBlock mb = new MaskBlock(key.layer(), key.module(), key.rowStart(), c.rowEnd(), masks.get(i));
            RecordHeaders h = new RecordHeaders();
            h.add(Topics.HEADER_EPOCH, Integer.toString(c.epoch()).getBytes(StandardCharsets.UTF_8));
            // the exporter assembles only blocks of the finalizer that declared the epoch (EpochRecord.finalizer)
            h.add(Topics.HEADER_FINALIZER, ctx.applicationId().getBytes(StandardCharsets.UTF_8));
            if (grid) {
                h.add(Topics.HEADER_ALPHA, Integer.toString(i).getBytes(StandardCharsets.UTF_8));
            }
            ctx.forward(new Record<>(maskKey, mb.encode(), timestamp, h), FinalizerTopology.MASKS_SINK);
        }
        ctx.forward(new Record<>(key.profile(), Json.write(new BlockAck(c.job(), c.epoch(), key.toString())), timestamp),
                FinalizerTopology.ACKS_SINK);
        metrics.statsMerged.increment(records.size() + (base == null ? 0 : 1));
        metrics.bytesMerged.increment(bytes);
        metrics.maskBlocks.increment(masks.size());
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

    /**
     * Punctuator: reports to the planner every block unclaimed for orphanRetention that no pending FINALIZE lists,
     * and re-stamps it, so an unanswered report is repeated only after another orphanRetention.
     */
    private void reportOrphans(long now) {
        long cutoff = now - settings.orphanRetention().toMillis();
        Set<String> referenced = new HashSet<>();
        try (KeyValueIterator<String, byte[]> it = pending.all()) {
            while (it.hasNext()) {
                referenced.addAll(Json.read(it.next().value, BlockInstruction.class).sliceIds());
            }
        }
        List<String> unclaimed = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = times.all()) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                if (kv.value.length == Long.BYTES && decodeTime(kv.value) < cutoff
                        && !referenced.contains(kv.key.substring(kv.key.lastIndexOf('|') + 1))) {
                    unclaimed.add(kv.key);
                }
            }
        }
        for (String k : unclaimed) {
            int bar = k.lastIndexOf('|');
            ctx.forward(unclaimedNotice(BlockKey.parse(k.substring(0, bar)), k.substring(bar + 1), now), FinalizerTopology.ACKS_SINK);
            times.put(k, encodeTime(now));
        }
        if (!unclaimed.isEmpty()) {
            metrics.orphansReported.increment(unclaimed.size());
            LOG.info("reported {} statistics blocks unclaimed for {} to the planner (e.g. {})", unclaimed.size(),
                    settings.orphanRetention(), unclaimed.get(0));
        }
    }

    /**
     * The report that {@code slice}'s block {@code key} is unclaimed: keyed by profile on gblm.finalize-acks, so it
     * reaches the planner task that owns the slice; header {@link FinalizerTopology#HEADER_UNCLAIMED} = slice id,
     * value a {@link BlockAck} naming the block.
     */
    static Record<String, byte[]> unclaimedNotice(BlockKey key, String slice, long timestamp) {
        RecordHeaders h = new RecordHeaders();
        h.add(FinalizerTopology.HEADER_UNCLAIMED, slice.getBytes(StandardCharsets.UTF_8));
        return new Record<>(key.profile(), Json.write(new BlockAck(null, 0, key.toString())), timestamp, h);
    }

    static byte[] encodeTime(long millis) {
        return ByteBuffer.allocate(Long.BYTES).putLong(millis).array();
    }

    static long decodeTime(byte[] b) {
        return ByteBuffer.wrap(b).getLong();
    }

    /** The stored statistics records of block {@code key} for {@code sliceIds}, in that order; null while one is missing. */
    private List<byte[]> storedRecords(BlockKey key, List<String> sliceIds) {
        List<byte[]> records = new ArrayList<>(sliceIds.size());
        for (String id : sliceIds) {
            byte[] b = blocks.get(key + "|" + id);
            if (b == null) {
                return null;
            }
            records.add(b);
        }
        return records;
    }
}
