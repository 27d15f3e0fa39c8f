package dev.gblm.stream.finalizer;

import dev.gblm.stream.Topics;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.Punctuator;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards a rejected record, unchanged, to the DLQ sink with {@code gblm.reason} (code: text) and {@code gblm.source}
 * headers; and keeps a failure while processing one record or one punctuation from failing the stream thread.
 */
final class DeadLetters {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);

    /** Reason code of a record whose processing threw unexpectedly. */
    static final String PROCESSING_ERROR = "processing-error";

    private DeadLetters() {}

    static void send(ProcessorContext<String, byte[]> ctx, FinalizerMetrics metrics, Record<String, byte[]> rec,
            String reasonCode, String detail) {
        String source = ctx.recordMetadata().map(m -> Topics.deadLetterSource(m.topic(), m.partition(), m.offset())).orElse("?");
        send(ctx, metrics, rec, reasonCode, detail, source);
    }

    /**
     * A dead letter that no input record caused (a decision of a punctuation, e.g. a refused job): {@code source}
     * says what it is about.
     */
    static void sendUnsourced(ProcessorContext<String, byte[]> ctx, FinalizerMetrics metrics, String key, byte[] value,
            String reasonCode, String detail, String source, long timestamp) {
        send(ctx, metrics, new Record<>(key, value, timestamp), reasonCode, detail, source);
    }

    private static void send(ProcessorContext<String, byte[]> ctx, FinalizerMetrics metrics, Record<String, byte[]> rec,
            String reasonCode, String detail, String source) {
        LOG.warn("dead letter from {} ({}): {}", source, reasonCode, detail);
        RecordHeaders h = new RecordHeaders(rec.headers().toArray());
        h.remove(Topics.HEADER_REASON);
        h.add(Topics.HEADER_REASON, Topics.deadLetterReason(reasonCode, detail).getBytes(StandardCharsets.UTF_8));
        h.add(Topics.HEADER_SOURCE, source.getBytes(StandardCharsets.UTF_8));
        ctx.forward(new Record<>(rec.key(), rec.value(), rec.timestamp(), h), FinalizerTopology.DLQ_SINK);
        metrics.dlq(reasonCode);
    }

    /**
     * Runs {@code body} on one record. If it throws, the record goes to the DLQ ({@value #PROCESSING_ERROR}) and the
     * task goes on: with exactly_once a failed thread is replaced, re-reads the same record and fails again, forever.
     * Kafka's own exceptions (fencing, task migration, state store failures) still propagate, since Kafka Streams
     * recovers from those and they are no fault of the record. Whatever the body stored or forwarded before it threw
     * stays: the DLQ record says where processing stopped.
     */
    static void processOrDeadLetter(ProcessorContext<String, byte[]> ctx, FinalizerMetrics metrics, Record<String, byte[]> rec,
            Consumer<Record<String, byte[]>> body) {
        try {
            body.accept(rec);
        } catch (KafkaException e) {
            throw e;
        } catch (RuntimeException e) {
            LOG.error("processing a record failed; it goes to the DLQ and processing continues", e);
            send(ctx, metrics, rec, PROCESSING_ERROR, describe(e));
        }
    }

    /** A punctuator that logs and counts its failures instead of failing the stream thread; the next run still comes. */
    static Punctuator guarded(String what, FinalizerMetrics metrics, Punctuator p) {
        return now -> {
            try {
                p.punctuate(now);
            } catch (KafkaException e) {
                throw e;
            } catch (RuntimeException e) {
                metrics.punctuatorFailures.increment();
                LOG.error("{} failed; skipped until its next run", what, e);
            }
        };
    }

    static String describe(Throwable e) {
        String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
        return e.getClass().getName() + (msg.isEmpty() ? "" : ": " + msg);
    }
}
