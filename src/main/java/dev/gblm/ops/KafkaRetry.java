package dev.gblm.ops;

import dev.gblm.GblmException;
import java.time.Duration;
import java.util.function.Supplier;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries a Kafka client call that timed out because the cluster did not answer (a broker restarting): a service
 * started or running during a restart must wait for it rather than exit. Only {@link TimeoutException} is retried,
 * which the Kafka clients document as safe to retry for these calls; any other error is thrown at once.
 */
public final class KafkaRetry {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaRetry.class);
    /** How long a service keeps retrying; longer than a broker restart takes. */
    public static final Duration SERVICE_WAIT = Duration.ofMinutes(5);

    private KafkaRetry() {}

    public static <T> T onTimeout(String what, Duration max, Supplier<T> call) {
        long deadline = System.nanoTime() + max.toNanos();
        for (int attempt = 1; ; attempt++) {
            try {
                return call.get();
            } catch (TimeoutException e) {
                if (System.nanoTime() > deadline) {
                    throw new GblmException("Kafka did not answer while " + what + " for " + max + ": " + e.getMessage(), e);
                }
                LOG.warn("Kafka did not answer while {} (attempt {}): {}; retrying", what, attempt, e.getMessage());
            }
        }
    }

    public static void onTimeout(String what, Duration max, Runnable call) {
        onTimeout(what, max, () -> {
            call.run();
            return null;
        });
    }
}
