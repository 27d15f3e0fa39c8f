package dev.gblm.stream.finalizer;

/** Topic names the finalizer reads and writes (definitions in topics/). */
public final class Topics {
    public static final String STATS = "gblm.stats";
    public static final String SLICES = "gblm.slices";
    public static final String JOBS = "gblm.jobs";
    public static final String EPOCHS = "gblm.epochs";
    public static final String MASKS = "gblm.masks";
    public static final String DLQ = "gblm.dlq";
    /** Planner → block tasks; must have exactly the partition count of {@link #STATS}. */
    public static final String FINALIZE = "gblm.finalize";
    /** Block tasks → planner (mask block done); must have exactly the partition count of {@link #SLICES}. */
    public static final String ACKS = "gblm.finalize-acks";

    public static final String HEADER_SLICE = "gblm.slice";
    public static final String HEADER_EPOCH = "gblm.epoch";
    public static final String HEADER_REASON = "gblm.reason";
    public static final String HEADER_SOURCE = "gblm.source";
    /** On a gblm.finalize-acks record: not an ack but a notice that this slice has a rejected statistics block. */
    public static final String HEADER_BAD_SLICE = "gblm.bad-slice";

    private Topics() {}
}
