package dev.gblm.stream.worker;

import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.Topics;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The slice a worker is filling: which stream, which offsets of which partitions, how many samples, tokens and
 * rejects, the dead letters to publish with it, and, through its {@link SampleSink}, the statistics. Pure (no Kafka
 * I/O), so the accounting is unit-tested on its own.
 *
 * <p><b>Invariant:</b> the sink holds the statistics of exactly the samples whose offsets this slice records. The
 * slice is the only writer of the sink: it requires an empty sink when opened, records an offset only after the
 * sample reached the sink, and resets the sink when it ends, whether committed ({@link #finish}) or abandoned
 * ({@link #discard}: abort, fencing, lost partitions). {@link #requireInStep} checks it before publishing.
 *
 * <p>A slice covers ONE stream. Each partition's range starts where the previous committed slice of that
 * partition ended ({@code fromInclusive} = the consumer position when this slice first touched it), so the ranges
 * of successive slices tile the partition even where offsets have gaps (transaction markers, compaction).
 *
 * @param <D> the dead-letter record type (a producer record in the worker)
 */
public final class OpenSlice<D> {
    private final String stream;
    private final long openedNanos;
    private final SampleSink sink;
    private boolean ended;
    private final Map<TopicPartition, long[]> ranges = new LinkedHashMap<>();
    private final List<D> deadLetters = new ArrayList<>();
    private long samples;
    private long tokens;
    private long rejected;
    private long heldOut;
    private long lastSampleTimestamp = -1;

    /** @throws IllegalStateException when the sink still holds samples (of a slice that was not ended) */
    public OpenSlice(String stream, long openedNanos, SampleSink sink) {
        if (sink.samples() != 0) {
            throw new IllegalStateException("the statistics accumulator still holds " + sink.samples()
                    + " samples of an earlier slice");
        }
        this.stream = stream;
        this.openedNanos = openedNanos;
        this.sink = sink;
    }

    public String stream() {
        return stream;
    }

    /** Checks that {@code offset} of {@code tp} may be consumed next, before anything changes. */
    private void requireNext(TopicPartition tp, long offset) {
        requireOpen();
        if (!stream.equals(Topics.streamOf(tp.topic()))) {
            throw new IllegalArgumentException(tp + " is not a partition of stream " + stream);
        }
        long[] r = ranges.get(tp);
        if (r != null && offset < r[1]) {
            throw new IllegalStateException("offset " + offset + " of " + tp + " consumed out of order (next " + r[1] + ")");
        }
    }

    /** Records that {@code offset} of {@code tp} was consumed; {@code startOffset} is used when tp is new here. */
    private void consume(TopicPartition tp, long startOffset, long offset) {
        long[] r = ranges.computeIfAbsent(tp, k -> new long[] {Math.min(startOffset, offset), offset});
        r[1] = offset + 1;
    }

    /**
     * Feeds a sample to the sink and records its offset. If the sink fails, nothing is recorded (the slice is then
     * broken and must be discarded).
     */
    public void addSample(TopicPartition tp, long startOffset, long offset, int[] sampleTokens, long timestamp) {
        requireNext(tp, offset);
        sink.add(sampleTokens);
        consume(tp, startOffset, offset);
        samples++;
        tokens += sampleTokens.length;
        lastSampleTimestamp = Math.max(lastSampleTimestamp, timestamp);
    }

    public void addReject(TopicPartition tp, long startOffset, long offset, D deadLetter) {
        requireNext(tp, offset);
        consume(tp, startOffset, offset);
        rejected++;
        deadLetters.add(deadLetter);
    }

    /**
     * Records that a held-out record ({@link dev.gblm.stream.HoldOut}) was consumed: its offset belongs to the slice,
     * so slices still tile the partition, but it never reaches the statistics.
     */
    public void addHeldOut(TopicPartition tp, long startOffset, long offset) {
        requireNext(tp, offset);
        consume(tp, startOffset, offset);
        heldOut++;
    }

    /** Throws unless the sink holds exactly this slice's samples (call before publishing its statistics). */
    public void requireInStep() {
        requireOpen();
        if (sink.samples() != samples) {
            throw new IllegalStateException("statistics hold " + sink.samples() + " samples, the slice records "
                    + samples);
        }
    }

    /** The slice was committed: the sink is emptied for the next slice. */
    public void finish() {
        end();
    }

    /** The slice will never be committed (abort, fencing, lost partitions): its statistics are dropped with it. */
    public void discard() {
        end();
    }

    private void end() {
        if (!ended) {
            ended = true;
            sink.reset();
        }
    }

    public boolean isEnded() {
        return ended;
    }

    private void requireOpen() {
        if (ended) {
            throw new IllegalStateException("slice already ended");
        }
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** Records consumed (samples, rejects and held-out records). */
    public long records() {
        return samples + rejected + heldOut;
    }

    /**
     * Whether the slice should close on size: {@code samplesPerSlice} samples, or, so that a stream of garbage (or of
     * held-out records) still commits its offsets and dead letters, {@value #REJECT_FACTOR} times that many records.
     */
    public boolean full(int samplesPerSlice) {
        return samples >= samplesPerSlice || records() >= (long) REJECT_FACTOR * samplesPerSlice;
    }

    static final int REJECT_FACTOR = 4;

    public long samples() {
        return samples;
    }

    public long tokens() {
        return tokens;
    }

    public long rejected() {
        return rejected;
    }

    public long heldOut() {
        return heldOut;
    }

    public long lastSampleTimestamp() {
        return lastSampleTimestamp;
    }

    public long ageNanos(long nowNanos) {
        return nowNanos - openedNanos;
    }

    public List<D> deadLetters() {
        return Collections.unmodifiableList(deadLetters);
    }

    public List<OffsetRange> ranges() {
        List<OffsetRange> out = new ArrayList<>();
        ranges.forEach((tp, r) -> out.add(new OffsetRange(tp.topic(), tp.partition(), r[0], r[1])));
        return out;
    }

    /** The offsets to commit with the slice: the next offset to read in each partition. */
    public Map<TopicPartition, OffsetAndMetadata> commitOffsets() {
        Map<TopicPartition, OffsetAndMetadata> out = new LinkedHashMap<>();
        ranges.forEach((tp, r) -> out.put(tp, new OffsetAndMetadata(r[1])));
        return out;
    }

    /** Where each partition must be rewound to when this slice is aborted. */
    public Map<TopicPartition, Long> startOffsets() {
        Map<TopicPartition, Long> out = new LinkedHashMap<>();
        ranges.forEach((tp, r) -> out.put(tp, r[0]));
        return out;
    }
}
