package dev.gblm.stream;

import dev.gblm.GblmException;
import dev.gblm.stats.ModuleStats;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The one registry of gblm's Kafka topics and record headers. Every service names topics and headers through this
 * class; partition counts and topic configs live in the topic definitions ({@code topics/*.properties}, checked
 * against this registry by {@code TopicsTest}).
 *
 * <p>A {@link Topic} states what its key and value are: the Java type a consumer decodes them to, and the wire form.
 * Sources read bytes and decode in the processor, so a bad record becomes a dead letter rather than a
 * deserialization failure; that is why the registry does not hand out Kafka serdes.
 */
public final class Topics {
    /**
     * One topic (or, for {@link #CALIBRATION}, a template of topics).
     *
     * @param name        the topic name; a template ends in {@code *}
     * @param keyType     what the key decodes to
     * @param keyFormat   the key's wire form
     * @param valueType   what the value decodes to
     * @param valueFormat the value's wire form, headers included
     * @param writer      who writes it
     */
    public record Topic<K, V>(String name, Class<K> keyType, String keyFormat, Class<V> valueType, String valueFormat,
            String writer) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Prefix of every calibration stream's topic: stream {@code news} is topic {@code calib.news}. */
    public static final String CALIBRATION_PREFIX = "calib.";

    public static final Topic<String, SampleRecord> CALIBRATION = new Topic<>(CALIBRATION_PREFIX + "*", String.class,
            "document id, UTF-8", SampleRecord.class,
            "JSON {\"text\": ...} or {\"tokens\": [...]}; header " + Topics.HEADER_FORMAT, "gblm ingest, or any producer");
    public static final Topic<BlockKey, ModuleStats> STATS = new Topic<>("gblm.stats", BlockKey.class,
            "profile/layer/module/rowStart, UTF-8", ModuleStats.class,
            "StatsCodec binary: one slice's partial sums of one row block; header " + Topics.HEADER_SLICE,
            "worker, in the slice's transaction");
    public static final Topic<String, SliceRecord> SLICES = new Topic<>("gblm.slices", String.class, "profile id",
            SliceRecord.class, "JSON", "worker, in the slice's transaction");
    public static final Topic<String, JobSpec> JOBS = new Topic<>("gblm.jobs", String.class, "job id", JobSpec.class,
            "JSON; null deletes the job (compacted topic)", "gblm job submit");
    public static final Topic<String, EpochRecord> EPOCHS = new Topic<>("gblm.epochs", String.class, "job id",
            EpochRecord.class, "JSON", "finalizer planner");
    /** Planner to block tasks; must have exactly the partition count of {@link #STATS} (co-partitioned by key). */
    public static final Topic<BlockKey, BlockInstruction> FINALIZE = new Topic<>("gblm.finalize", BlockKey.class,
            "profile/layer/module/rowStart, exactly as on gblm.stats", BlockInstruction.class,
            "JSON (FINALIZE, RETIRE or CLAIM)", "finalizer planner");
    /** Block tasks to planner; must have exactly the partition count of {@link #SLICES} (co-partitioned by key). */
    public static final Topic<String, BlockAck> ACKS = new Topic<>("gblm.finalize-acks", String.class, "profile id",
            BlockAck.class, "JSON; with header " + Topics.HEADER_BAD_SLICE + " a bad-slice notice, with "
                    + Topics.HEADER_UNCLAIMED + " an unclaimed-block report, instead of an ack",
            "finalizer block tasks");
    public static final Topic<String, MaskBlock> MASKS = new Topic<>("gblm.masks", String.class,
            "job/epoch/layer/module/rowStart (MaskBlock.key)", MaskBlock.class,
            "MaskBlock binary (GBMK); headers " + Topics.HEADER_EPOCH + ", " + Topics.HEADER_FINALIZER + ", for alpha=auto jobs "
                    + Topics.HEADER_ALPHA + " (grid index)", "finalizer block tasks");
    public static final Topic<String, ModelReady> MODELS = new Topic<>("gblm.models", String.class, "job id",
            ModelReady.class, "JSON", "exporter, with its consumed offsets");
    public static final Topic<byte[], byte[]> DLQ = new Topic<>("gblm.dlq", byte[].class, "the original key",
            byte[].class, "the original value (workers cut it to 256 KiB: headers " + Topics.HEADER_SIZE + ", "
                    + Topics.HEADER_TRUNCATED + "); headers " + Topics.HEADER_REASON + ", " + Topics.HEADER_SOURCE
                    + " and, from workers, the other gblm.reason.* / gblm.source.* headers",
            "every service: gblm.reason and gblm.source on every dead letter");

    public static final Topic<String, JobStatus> JOB_STATUS = new Topic<>("gblm.job-status", String.class, "job id",
            JobStatus.class, "JSON; the latest state of each job (compacted)", "finalizer planner");
    /** A team's jobs: only the team (and admins) may write it; the finalizer relays it to gblm.jobs, stamping the team. */
    public static final Topic<String, JobSpec> TEAM_JOBS = new Topic<>("gblm.jobs.*", String.class,
            "job id, starting with '<team>.'", JobSpec.class, "JSON; null deletes the job (compacted topic)",
            "gblm job submit --team");

    /** Every topic of the registry, the calibration template first. */
    public static List<Topic<?, ?>> all() {
        return List.of(CALIBRATION, STATS, SLICES, JOBS, TEAM_JOBS, EPOCHS, JOB_STATUS, FINALIZE, ACKS, MASKS, MODELS,
                DLQ);
    }

    // ------------------------------------------------------------------ record headers (UTF-8 text values)

    /** Calibration record: what the value holds ({@link SampleRecord#FORMAT_TEXT} or {@link SampleRecord#FORMAT_TOKENS}). */
    public static final String HEADER_FORMAT = "gblm.format";
    /** Statistics record: the slice it belongs to; also on slice records and bad-slice notices' DLQ copies. */
    public static final String HEADER_SLICE = "gblm.slice";
    /** Mask block: the epoch number. */
    public static final String HEADER_EPOCH = "gblm.epoch";
    /** Mask block: application id of the finalizer that emitted it ({@link EpochRecord#finalizer}). */
    public static final String HEADER_FINALIZER = "gblm.finalizer";
    /**
     * Mask block of an {@code alpha=auto} job: the index (decimal) of its alpha in the job's
     * {@link JobSpec#alphaGrid()}; every grid point has its own block under the same key. Absent for every other job.
     */
    public static final String HEADER_ALPHA = "gblm.alpha";
    /** The {@link #HEADER_REASON} text of a dead letter: {@code code: text}. */
    public static String deadLetterReason(String code, String text) {
        return code + ": " + text;
    }

    /** The {@link #HEADER_SOURCE} text of a dead letter: {@code topic-partition@offset}. */
    public static String deadLetterSource(String topic, int partition, long offset) {
        return topic + "-" + partition + "@" + offset;
    }

    /** Dead letter: {@code code: text}. */
    public static final String HEADER_REASON = "gblm.reason";
    /** Dead letter from a worker: the reason code alone. */
    public static final String HEADER_REASON_CODE = "gblm.reason.code";
    /** Dead letter: where the record came from, {@code topic-partition@offset}. */
    public static final String HEADER_SOURCE = "gblm.source";
    public static final String HEADER_SOURCE_TOPIC = "gblm.source.topic";
    public static final String HEADER_SOURCE_PARTITION = "gblm.source.partition";
    public static final String HEADER_SOURCE_OFFSET = "gblm.source.offset";
    /** Dead letter: the original value's size in bytes (the value itself may be cut, see {@link #HEADER_TRUNCATED}). */
    public static final String HEADER_SIZE = "gblm.size";
    /** Dead letter: present when something was cut to fit a record, listing what ({@code value}, {@code key}, {@code headers}). */
    public static final String HEADER_TRUNCATED = "gblm.truncated";
    /** Dead letter from a worker: the worker id. */
    public static final String HEADER_WORKER = "gblm.worker";
    /** On gblm.finalize-acks: not an ack but a notice that this slice has a rejected statistics block. */
    public static final String HEADER_BAD_SLICE = "gblm.bad-slice";
    /**
     * On gblm.finalize-acks: not an ack but a report that a block of this slice is still unclaimed after the
     * finalizer's orphan retention; the planner answers with CLAIM (slice accepted) or RETIRE (slice expired).
     */
    public static final String HEADER_UNCLAIMED = "gblm.unclaimed";

    // ------------------------------------------------------------------ calibration streams

    /** Every calibration topic, as a subscription pattern. */
    public static final Pattern CALIBRATION_TOPICS = Pattern.compile(Pattern.quote(CALIBRATION_PREFIX) + ".+");

    private Topics() {}

    // ------------------------------------------------------------------ teams

    /** A team name: what a team owns is named by it (streams {@code <team>.*}, topic {@code gblm.jobs.<team>}). */
    public static final Pattern TEAM_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
    /** Prefix of the team job topics: team {@code a} submits its jobs to {@code gblm.jobs.a}. */
    public static final String TEAM_JOBS_PREFIX = JOBS.name() + ".";
    /** Every team job topic, as a subscription pattern (the finalizer reads them all). */
    public static final Pattern TEAM_JOBS_PATTERN = Pattern.compile(
            Pattern.quote(TEAM_JOBS_PREFIX) + TEAM_NAME.pattern());

    /** {@code team} when it is a valid team name, else a one-line GblmException. */
    public static String requireTeam(String team) {
        if (team == null || !TEAM_NAME.matcher(team).matches()) {
            throw new GblmException("invalid team name '" + team
                    + "': use 1-32 of a-z 0-9 -, starting with a letter or digit (no dots)");
        }
        return team;
    }

    /** The compacted job topic of a team, {@code gblm.jobs.<team>}. */
    public static String teamJobsTopic(String team) {
        return TEAM_JOBS_PREFIX + requireTeam(team);
    }

    /** The prefix of a team's stream names, {@code <team>.}: the team owns every stream that starts with it. */
    public static String teamStreamPrefix(String team) {
        return requireTeam(team) + ".";
    }

    /** The prefix of a team's calibration topics, {@code calib.<team>.} (the team's PREFIXED ACLs). */
    public static String teamCalibrationPrefix(String team) {
        return CALIBRATION_PREFIX + teamStreamPrefix(team);
    }

    /**
     * The team that owns {@code stream}: the part before its first dot ({@code b.wiki} → {@code b}); null when the
     * stream has no dot or that part is not a valid team name (no team can own it).
     */
    public static String teamOfStream(String stream) {
        int dot = stream == null ? -1 : stream.indexOf('.');
        if (dot <= 0) {
            return null;
        }
        String team = stream.substring(0, dot);
        return TEAM_NAME.matcher(team).matches() ? team : null;
    }

    /** {@code calib.<stream>}, or a clear error when {@code stream} has characters Kafka refuses. */
    public static String calibrationTopic(String stream) {
        if (stream == null || !stream.matches("[a-zA-Z0-9._-]{1,200}")) {
            throw new GblmException("invalid stream name '" + stream
                    + "': use 1-200 of the characters a-z A-Z 0-9 . _ -");
        }
        return CALIBRATION_PREFIX + stream;
    }

    /** The team of a team job topic ({@code gblm.jobs.a} → {@code a}), or null when {@code topic} is not one. */
    public static String teamOfJobsTopic(String topic) {
        return topic != null && TEAM_JOBS_PATTERN.matcher(topic).matches() ? topic.substring(TEAM_JOBS_PREFIX.length()) : null;
    }

    /** The stream of a calibration topic ({@code calib.news} → {@code news}). */
    public static String streamOf(String topic) {
        if (!topic.startsWith(CALIBRATION_PREFIX) || topic.length() == CALIBRATION_PREFIX.length()) {
            throw new IllegalArgumentException("not a calibration topic: " + topic);
        }
        return topic.substring(CALIBRATION_PREFIX.length());
    }
}
