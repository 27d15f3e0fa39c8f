package dev.gblm.stream.finalizer;

import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A record the broker refuses as too large would otherwise stop the application for good (every retry fails the
 * same way): skip it, log and count it ({@code gblm.finalizer.dlq{reason=too-large}}). Anything else fails (and the
 * stream thread is replaced), so transient broker errors are never silently dropped.
 */
public final class SkipTooLargeHandler implements ProductionExceptionHandler {
    static final String METRICS_CONFIG = "gblm.finalizer.metrics";
    private static final Logger LOG = LoggerFactory.getLogger(SkipTooLargeHandler.class);
    private FinalizerMetrics metrics;

    @Override
    public void configure(Map<String, ?> configs) {
        Object m = configs.get(METRICS_CONFIG);
        metrics = m instanceof FinalizerMetrics ? (FinalizerMetrics) m : null;
    }

    @Override
    public Response handleError(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record, Exception exception) {
        if (exception instanceof RecordTooLargeException) {
            LOG.error("dropping a record to {} that the broker refuses as too large: {}", record.topic(), exception.getMessage());
            if (metrics != null) {
                metrics.dlq("too-large");
            }
            return Response.resume();
        }
        return Response.fail();
    }
}
