package dev.gblm.stream.worker;

import dev.gblm.stream.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * The dead letter of a rejected calibration record, bounded in size. A dead letter is published in the slice's
 * transaction, so a record the producer refuses (larger than its {@code max.request.size}, or than the
 * {@code max.message.bytes} of {@code gblm.dlq}) would abort that transaction, and every retry would abort it again:
 * calibration topics accept documents of up to 4 MiB, the worker's requests are only about 1 MiB. Every part of a
 * dead letter is therefore cut to a fixed budget ({@link #MAX_RECORD_BYTES} in all, far below both limits) and the cut
 * is stated in headers. The full original stays where {@code gblm.source} points.
 *
 * <p>Headers besides the original ones: {@code gblm.reason}, {@code gblm.reason.code}, {@code gblm.source} (and its
 * parts), {@code gblm.worker}, {@value #HEADER_SIZE} (the original value's size in bytes; absent for a null value)
 * and, only when something was cut, {@value #HEADER_TRUNCATED} (what was cut: {@code value}, {@code key},
 * {@code headers}, comma-separated).
 */
final class DeadLetters {
    /** Largest value kept: enough to see what the document was, small enough for any worker request. */
    static final int MAX_VALUE_BYTES = 256 * 1024;
    /** Largest key kept (document ids are short; anything longer is not one). */
    static final int MAX_KEY_BYTES = 1024;
    /** Budget for the original record's headers copied over; later ones that do not fit are dropped. */
    static final int MAX_COPIED_HEADER_BYTES = 16 * 1024;
    /** The reason text is built from parser messages, which may quote the input. */
    static final int MAX_REASON_CHARS = 2000;
    /**
     * Upper bound of a dead letter's key, value and headers together: the budgets above, the reason (UTF-8, at most 4
     * bytes a char, twice: code and text) and the fixed-size source and worker headers.
     */
    static final int MAX_RECORD_BYTES = MAX_VALUE_BYTES + MAX_KEY_BYTES + MAX_COPIED_HEADER_BYTES
            + 2 * 4 * MAX_REASON_CHARS + 4096;

    // kept here until the registry dev.gblm.stream.Topics lists them with the other dead-letter headers
    /** Dead letter: the original value's size in bytes. */
    static final String HEADER_SIZE = Topics.HEADER_SIZE;
    /** Dead letter: present when the dead letter is not a full copy; lists what was cut. */
    static final String HEADER_TRUNCATED = Topics.HEADER_TRUNCATED;

    private DeadLetters() {}

    /**
     * @param code     the reason code ({@code token-out-of-range}, ...)
     * @param text     {@code code: message}
     * @param workerId the worker that rejected the record
     */
    static ProducerRecord<byte[], byte[]> of(ConsumerRecord<byte[], byte[]> rec, String code, String text,
            String workerId) {
        List<String> cut = new ArrayList<>();
        byte[] value = rec.value();
        if (value != null && value.length > MAX_VALUE_BYTES) {
            value = Arrays.copyOf(value, MAX_VALUE_BYTES);
            cut.add("value");
        }
        byte[] key = rec.key();
        if (key != null && key.length > MAX_KEY_BYTES) {
            key = Arrays.copyOf(key, MAX_KEY_BYTES);
            cut.add("key");
        }
        List<Header> h = new ArrayList<>();
        long copied = 0;
        boolean droppedHeader = false;
        for (Header x : rec.headers()) {
            long size = x.key().getBytes(StandardCharsets.UTF_8).length + (x.value() == null ? 0 : x.value().length);
            if (copied + size > MAX_COPIED_HEADER_BYTES) {
                droppedHeader = true;
                continue;
            }
            copied += size;
            h.add(x);
        }
        if (droppedHeader) {
            cut.add("headers");
        }
        h.add(header(Topics.HEADER_REASON, bounded(text)));
        h.add(header(Topics.HEADER_REASON_CODE, bounded(code)));
        h.add(header(Topics.HEADER_SOURCE, Topics.deadLetterSource(rec.topic(), rec.partition(), rec.offset())));
        h.add(header(Topics.HEADER_SOURCE_TOPIC, rec.topic()));
        h.add(header(Topics.HEADER_SOURCE_PARTITION, Integer.toString(rec.partition())));
        h.add(header(Topics.HEADER_SOURCE_OFFSET, Long.toString(rec.offset())));
        h.add(header(Topics.HEADER_WORKER, workerId));
        if (rec.value() != null) {
            h.add(header(HEADER_SIZE, Integer.toString(rec.value().length)));
        }
        if (!cut.isEmpty()) {
            h.add(header(HEADER_TRUNCATED, String.join(",", cut)));
        }
        return new ProducerRecord<>(Topics.DLQ.name(), null, key, value, h);
    }

    private static String bounded(String s) {
        return s.length() <= MAX_REASON_CHARS ? s : s.substring(0, MAX_REASON_CHARS - 3) + "...";
    }

    private static Header header(String k, String v) {
        return new RecordHeader(k, v.getBytes(StandardCharsets.UTF_8));
    }
}
