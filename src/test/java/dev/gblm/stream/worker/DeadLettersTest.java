package dev.gblm.stream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
    /** The worker producer's smallest max.request.size (Worker.producerProperties) and gblm.dlq's max.message.bytes. */
    static final int WORKER_REQUEST_BYTES = 1 << 20;
    static final int DLQ_MESSAGE_BYTES = 4 << 20;

    static ConsumerRecord<byte[], byte[]> rec(byte[] key, byte[] value, RecordHeaders headers) {
        return new ConsumerRecord<>("calib.s", 2, 17, 0L, TimestampType.CREATE_TIME, key == null ? -1 : key.length,
                value == null ? -1 : value.length, key, value, headers, Optional.empty());
    }

    static String header(ProducerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    static long size(ProducerRecord<byte[], byte[]> r) {
        long n = (r.key() == null ? 0 : r.key().length) + (r.value() == null ? 0 : r.value().length);
        for (Header h : r.headers()) {
            n += h.key().getBytes(StandardCharsets.UTF_8).length + h.value().length;
        }
        return n;
    }

    @Test
    void aSmallRejectIsCopiedWholeWithItsSizeAndNoTruncationMark() {
        byte[] value = "{\"tokens\":[1,999]}".getBytes(StandardCharsets.UTF_8);
        RecordHeaders hs = new RecordHeaders();
        hs.add(new RecordHeader(Topics.HEADER_FORMAT, "tokens".getBytes(StandardCharsets.UTF_8)));
        ProducerRecord<byte[], byte[]> d = DeadLetters.of(rec("doc-1".getBytes(StandardCharsets.UTF_8), value, hs),
                "token-out-of-range", "token-out-of-range: token 1 has id 999", "w1");
        assertThat(d.topic()).isEqualTo(Topics.DLQ.name());
        assertThat(d.value()).isEqualTo(value);
        assertThat(new String(d.key(), StandardCharsets.UTF_8)).isEqualTo("doc-1");
        assertThat(header(d, Topics.HEADER_FORMAT)).isEqualTo("tokens");
        assertThat(header(d, Topics.HEADER_REASON_CODE)).isEqualTo("token-out-of-range");
        assertThat(header(d, Topics.HEADER_REASON)).startsWith("token-out-of-range: ");
        assertThat(header(d, Topics.HEADER_SOURCE)).isEqualTo("calib.s-2@17");
        assertThat(header(d, Topics.HEADER_WORKER)).isEqualTo("w1");
        assertThat(header(d, DeadLetters.HEADER_SIZE)).isEqualTo(Integer.toString(value.length));
        assertThat(header(d, DeadLetters.HEADER_TRUNCATED)).isNull();
    }

    @Test
    void everyPartOfAHugeRejectIsCutToFitAnyWorkerRequestAndTheDeadLetterTopic() {
        byte[] value = new byte[3_500_000]; // under ingest's 4 MiB limit, over the worker's ~1 MiB requests
        Arrays.fill(value, (byte) '7');
        byte[] key = new byte[10_000];
        Arrays.fill(key, (byte) 'k');
        RecordHeaders hs = new RecordHeaders();
        for (int i = 0; i < 40; i++) {
            hs.add(new RecordHeader("h" + i, new byte[1000]));
        }
        ProducerRecord<byte[], byte[]> d = DeadLetters.of(rec(key, value, hs), "malformed-json",
                "malformed-json: " + "x".repeat(50_000), "w1");
        assertThat(d.value()).hasSize(DeadLetters.MAX_VALUE_BYTES);
        assertThat(d.value()).isEqualTo(Arrays.copyOf(value, DeadLetters.MAX_VALUE_BYTES));
        assertThat(d.key()).hasSize(DeadLetters.MAX_KEY_BYTES);
        assertThat(header(d, DeadLetters.HEADER_SIZE)).isEqualTo("3500000");
        assertThat(header(d, DeadLetters.HEADER_TRUNCATED)).isEqualTo("value,key,headers");
        assertThat(header(d, Topics.HEADER_REASON)).hasSizeLessThanOrEqualTo(DeadLetters.MAX_REASON_CHARS);
        assertThat(header(d, Topics.HEADER_SOURCE_OFFSET)).isEqualTo("17");
        assertThat(size(d)).isLessThanOrEqualTo(DeadLetters.MAX_RECORD_BYTES);
        // record and batch framing are a few hundred bytes; the bound leaves more than 700 KiB of room
        assertThat(DeadLetters.MAX_RECORD_BYTES + 64 * 1024).isLessThan(WORKER_REQUEST_BYTES).isLessThan(DLQ_MESSAGE_BYTES);
    }

    @Test
    void aNullValueOrKeyStaysNull() {
        ProducerRecord<byte[], byte[]> d = DeadLetters.of(rec(null, null, new RecordHeaders()), "missing-key",
                "missing-key: record has no key", "w1");
        assertThat(d.key()).isNull();
        assertThat(d.value()).isNull();
        assertThat(header(d, DeadLetters.HEADER_SIZE)).isNull();
        assertThat(header(d, DeadLetters.HEADER_TRUNCATED)).isNull();
    }
}
