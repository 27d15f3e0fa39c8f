package dev.gblm.stream.finalizer;

import dev.gblm.stream.Topics;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The finalizer's processor topology:
 *
 * <pre>
 *  gblm.jobs.&lt;team&gt; (pattern) ──► team-jobs relay ─► gblm.jobs (team stamped), gblm.job-status, gblm.dlq
 *  gblm.jobs ───────────────► [global store gblm-jobs]  (read by the planner)
 *  gblm.slices ─────────┐
 *  gblm.finalize-acks ──┴──► planner  {gblm-planner-slices, gblm-planner-jobs, gblm-planner-bad-slices} ─► gblm.epochs, gblm.finalize, gblm.job-status, gblm.dlq
 *  gblm.stats ──────────┐
 *  gblm.finalize ───────┴──► blocks   {gblm-blocks, gblm-pending, gblm-block-times, gblm-bases} ─► gblm.masks, gblm.finalize-acks, gblm.dlq
 * </pre>
 *
 * gblm.finalize-acks carries, besides acks, the block tasks' notices to the planner: a slice with a rejected block
 * ({@code gblm.bad-slice}) and a block unclaimed after orphanRetention ({@link #HEADER_UNCLAIMED}), which the planner
 * answers on gblm.finalize with CLAIM or RETIRE.
 *
 * <p>Every source uses String keys and raw byte values, so no record can fail deserialization; parsing happens in
 * the processors, which send bad records, and records whose processing fails, to gblm.dlq. Stores are persistent
 * RocksDB with changelogs.
 */
public final class FinalizerTopology {
    public static final String JOBS_STORE = "gblm-jobs";
    public static final String SLICES_STORE = "gblm-planner-slices";
    public static final String PROGRESS_STORE = "gblm-planner-jobs";
    public static final String BLOCKS_STORE = "gblm-blocks";
    public static final String PENDING_STORE = "gblm-pending";
    /** blockKey|sliceId → arrival time (8 bytes, wall clock ms) or {@link BlockProcessor#CLAIMED}: the orphan sweep's input. */
    public static final String BLOCK_TIMES_STORE = "gblm-block-times";
    /**
     * blockKey|job → the job's base sum of that block (window-0 re-pruning jobs): version + statistics,
     * {@link BlockAggregation#encodeBase}.
     */
    public static final String BASES_STORE = "gblm-bases";
    /** profile|sliceId → reason: slices with a rejected block, or expired, never planned into an epoch. */
    public static final String BAD_SLICES_STORE = "gblm-planner-bad-slices";
    /**
     * On gblm.finalize-acks: not an ack but a block task's report that the header's slice has a block still unclaimed
     * after orphanRetention (value: a BlockAck naming only the block). Internal to the finalizer, which writes and
     * reads it; belongs in the Topics registry next to {@link dev.gblm.stream.Topics#HEADER_BAD_SLICE}.
     */
    public static final String HEADER_UNCLAIMED = Topics.HEADER_UNCLAIMED;

    static final String PLANNER = "planner";
    static final String BLOCKS = "blocks";
    static final String EPOCHS_SINK = "epochs-sink";
    static final String FINALIZE_SINK = "finalize-sink";
    static final String MASKS_SINK = "masks-sink";
    static final String ACKS_SINK = "acks-sink";
    static final String DLQ_SINK = "dlq-sink";
    static final String JOBS_SINK = "jobs-sink";
    static final String JOB_STATUS_SINK = "job-status-sink";
    static final String TEAM_JOBS_RELAY = "team-jobs";

    private FinalizerTopology() {}

    /** Adds the finalizer's nodes and stores to {@code t} and returns it; stream grants of team jobs not enforced. */
    public static Topology build(Topology t, DenseWeights weights, FinalizerSettings settings, FinalizerMetrics metrics) {
        return build(t, weights, settings, metrics, StreamGrants.notEnforced());
    }

    /** Adds the finalizer's nodes and stores to {@code t} and returns it; {@code grants} decides team jobs' streams. */
    public static Topology build(Topology t, DenseWeights weights, FinalizerSettings settings, FinalizerMetrics metrics,
            StreamGrants grants) {
        StringDeserializer kd = new StringDeserializer();
        ByteArrayDeserializer vd = new ByteArrayDeserializer();
        StringSerializer ks = new StringSerializer();
        ByteArraySerializer vs = new ByteArraySerializer();

        t.addGlobalStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(JOBS_STORE), Serdes.String(), Serdes.ByteArray())
                        .withLoggingDisabled(), // a global store is restored from its source topic
                "jobs-source", kd, vd, Topics.JOBS.name(), "jobs-store", JobsStoreProcessor::new);

        t.addSource("team-jobs-source", kd, vd, Topics.TEAM_JOBS_PATTERN);
        t.addProcessor(TEAM_JOBS_RELAY, () -> new TeamJobsRelay(metrics), "team-jobs-source");

        t.addSource("slices-source", kd, vd, Topics.SLICES.name());
        t.addSource("acks-source", kd, vd, Topics.ACKS.name());
        t.addProcessor(PLANNER, () -> new PlannerProcessor(weights, settings, metrics, grants), "slices-source", "acks-source");
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SLICES_STORE), Serdes.String(), Serdes.ByteArray()), PLANNER);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PROGRESS_STORE), Serdes.String(), Serdes.ByteArray()), PLANNER);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(BAD_SLICES_STORE), Serdes.String(), Serdes.ByteArray()), PLANNER);

        t.addSource("stats-source", kd, vd, Topics.STATS.name());
        t.addSource("finalize-source", kd, vd, Topics.FINALIZE.name());
        t.addProcessor(BLOCKS, () -> new BlockProcessor(weights, settings, metrics), "stats-source", "finalize-source");
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(BLOCKS_STORE), Serdes.String(), Serdes.ByteArray()), BLOCKS);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PENDING_STORE), Serdes.String(), Serdes.ByteArray()), BLOCKS);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(BLOCK_TIMES_STORE), Serdes.String(), Serdes.ByteArray()), BLOCKS);
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(BASES_STORE), Serdes.String(), Serdes.ByteArray()), BLOCKS);

        // no StreamPartitioner: the default one hashes the key bytes like the workers' producers do
        t.addSink(EPOCHS_SINK, Topics.EPOCHS.name(), ks, vs, PLANNER);
        t.addSink(FINALIZE_SINK, Topics.FINALIZE.name(), ks, vs, PLANNER);
        t.addSink(MASKS_SINK, Topics.MASKS.name(), ks, vs, BLOCKS);
        t.addSink(ACKS_SINK, Topics.ACKS.name(), ks, vs, BLOCKS);
        t.addSink(JOBS_SINK, Topics.JOBS.name(), ks, vs, TEAM_JOBS_RELAY);
        t.addSink(JOB_STATUS_SINK, Topics.JOB_STATUS.name(), ks, vs, PLANNER, TEAM_JOBS_RELAY);
        t.addSink(DLQ_SINK, Topics.DLQ.name(), ks, vs, PLANNER, BLOCKS, TEAM_JOBS_RELAY);
        return t;
    }
}
