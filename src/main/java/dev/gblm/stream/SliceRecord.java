package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Comparator;
import java.util.List;

/**
 * A closed slice on {@code gblm.slices} (key = profile id, JSON): the samples one worker consumed from ONE
 * stream between two commits, written in the same Kafka transaction as its {@code blockCount} statistics records
 * (header {@code gblm.slice} = {@link #sliceId}) and the consumed offsets. So once a read_committed consumer sees
 * this record, all of the slice's statistics are committed too.
 *
 * @param sliceId             globally unique, e.g. {@code <workerId>-<stream>-<seq>}; no '|' or '/'
 * @param profile             profile id ({@link Profile#id()}); must equal {@code profileSpec.id()}
 * @param profileSpec         the full profile (the finalizer checks the model fingerprint and derives the block layout)
 * @param stream              calibration stream name (topic {@code calib.<stream>})
 * @param ranges              exact offsets consumed, per partition
 * @param samples             samples accumulated (rejected ones excluded)
 * @param tokens              tokens accumulated
 * @param rejected            samples sent to the DLQ instead
 * @param blockCount          statistics records written for this slice (the whole layout of the profile)
 * @param lastSampleTimestamp record timestamp (ms) of the slice's last sample, for end-to-end latency
 * @param heldOut             records in the ranges held out of the statistics ({@link HoldOut}, the profile's
 *                            fraction); omitted from the JSON when 0. The ranges cover samples, rejects and these.
 */
public record SliceRecord(String sliceId, String profile, Profile profileSpec, String stream, List<OffsetRange> ranges,
        long samples, long tokens, long rejected, int blockCount, long lastSampleTimestamp,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) long heldOut) {

    /** Deterministic selection order: stream, then the first range's topic, partition and start offset, then id. */
    public static final Comparator<SliceRecord> ORDER = Comparator.comparing(SliceRecord::stream)
            .thenComparing(s -> s.firstRange().topic())
            .thenComparingInt(s -> s.firstRange().partition())
            .thenComparingLong(s -> s.firstRange().fromInclusive())
            .thenComparing(SliceRecord::sliceId);

    public SliceRecord {
        ranges = ranges == null ? List.of() : List.copyOf(ranges);
    }

    /** A slice without held-out records. */
    public SliceRecord(String sliceId, String profile, Profile profileSpec, String stream, List<OffsetRange> ranges,
            long samples, long tokens, long rejected, int blockCount, long lastSampleTimestamp) {
        this(sliceId, profile, profileSpec, stream, ranges, samples, tokens, rejected, blockCount, lastSampleTimestamp, 0);
    }

    /** Checks internal consistency; throws {@link RecordFormatException} with the reason. */
    public SliceRecord validate() {
        if (sliceId == null || sliceId.isEmpty() || sliceId.indexOf('|') >= 0 || sliceId.indexOf('/') >= 0) {
            throw new RecordFormatException("slice id missing or contains '|' or '/': " + sliceId);
        }
        if (profileSpec == null) {
            throw new RecordFormatException("slice " + sliceId + " has no profileSpec");
        }
        if (!profileSpec.id().equals(profile)) {
            throw new RecordFormatException("slice " + sliceId + " names profile " + profile + " but its profileSpec hashes to " + profileSpec.id());
        }
        if (stream == null || stream.isEmpty()) {
            throw new RecordFormatException("slice " + sliceId + " has no stream");
        }
        if (ranges.isEmpty()) {
            throw new RecordFormatException("slice " + sliceId + " has no offset ranges");
        }
        if (samples <= 0 || tokens < 0 || rejected < 0 || heldOut < 0 || blockCount <= 0) {
            throw new RecordFormatException("slice " + sliceId + " has bad counts (samples " + samples + ", tokens " + tokens
                    + ", rejected " + rejected + ", held out " + heldOut + ", blocks " + blockCount + ")");
        }
        return this;
    }

    public OffsetRange firstRange() {
        return ranges.stream().min(Comparator.comparing(OffsetRange::topic).thenComparingInt(OffsetRange::partition)
                .thenComparingLong(OffsetRange::fromInclusive)).orElseThrow();
    }
}
