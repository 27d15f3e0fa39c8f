package dev.gblm.stream.finalizer;

import dev.gblm.stream.Topics;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Forwards a rejected record, unchanged, to the DLQ sink with {@code gblm.reason} (code: text) and {@code gblm.source} headers. */
final class DeadLetters {
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);

    private DeadLetters() {}

    static void send(ProcessorContext<String, byte[]> ctx, FinalizerMetrics metrics, Record<String, byte[]> rec,
            String reasonCode, String detail) {
        String source = ctx.recordMetadata().map(m -> m.topic() + "-" + m.partition() + "@" + m.offset()).orElse("?");
        LOG.warn("dead letter from {} ({}): {}", source, reasonCode, detail);
        RecordHeaders h = new RecordHeaders(rec.headers().toArray());
        h.remove(Topics.HEADER_REASON);
        h.add(Topics.HEADER_REASON, (reasonCode + ": " + detail).getBytes(StandardCharsets.UTF_8));
        h.add(Topics.HEADER_SOURCE, source.getBytes(StandardCharsets.UTF_8));
        ctx.forward(new Record<>(rec.key(), rec.value(), rec.timestamp(), h), FinalizerTopology.DLQ_SINK);
        metrics.dlq(reasonCode);
    }
}
