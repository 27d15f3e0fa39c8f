package dev.gblm.ops;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The metrics of one gblm process: a Prometheus registry with JVM binders, the Kafka client and
 * Kafka Streams binders, and the health checks {@code /health} reports. Close it to unbind.
 *
 * <p>Meter naming: {@code gblm.<component>.<what>} with Micrometer's dotted names; Prometheus
 * renders them with underscores and a {@code _total} suffix on counters
 * ({@code gblm.ingest.documents} → {@code gblm_ingest_documents_total}). See docs/metrics.md.
 */
public final class GblmMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry;
    private final List<AutoCloseable> binders = new ArrayList<>();
    private final Map<String, Health.Check> checks = new LinkedHashMap<>();
    private final JvmGcMetrics gc = new JvmGcMetrics();

    /** @param component common tag {@code component} on every meter (ingest, worker, finalizer, ...) */
    public GblmMetrics(String component) {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags(Tags.of("component", component));
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public MeterRegistry meters() {
        return registry;
    }

    /** Binds a producer's Kafka metrics ({@code kafka_producer_*}); unbound on {@link #close()}. */
    public void bind(Producer<?, ?> producer) {
        bindKafka(new KafkaClientMetrics(producer));
    }

    /** Binds a consumer's Kafka metrics ({@code kafka_consumer_*}). */
    public void bind(Consumer<?, ?> consumer) {
        bindKafka(new KafkaClientMetrics(consumer));
    }

    /** Binds an admin client's Kafka metrics ({@code kafka_admin_client_*}). */
    public void bind(AdminClient admin) {
        bindKafka(new KafkaClientMetrics(admin));
    }

    /** Binds a Kafka Streams application's metrics ({@code kafka_stream_*}). */
    public void bind(KafkaStreams streams) {
        KafkaStreamsMetrics m = new KafkaStreamsMetrics(streams);
        m.bindTo(registry);
        synchronized (binders) {
            binders.add(m);
        }
    }

    private void bindKafka(KafkaClientMetrics m) {
        m.bindTo(registry);
        synchronized (binders) {
            binders.add(m);
        }
    }

    /** Reports the service's health under its name on {@code /health}. */
    public void register(Service service) {
        healthCheck(service.name(), service::health);
    }

    /** Registers (or replaces) a named health check. */
    public void healthCheck(String name, Health.Check check) {
        synchronized (checks) {
            checks.put(name, check);
        }
    }

    /** Evaluates every check; a check that throws counts as down with its message. */
    public Map<String, Health> health() {
        Map<String, Health.Check> copy;
        synchronized (checks) {
            copy = new LinkedHashMap<>(checks);
        }
        Map<String, Health> out = new LinkedHashMap<>();
        copy.forEach((name, check) -> {
            Health h;
            try {
                h = check.check();
            } catch (RuntimeException e) {
                h = Health.down(e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            out.put(name, h);
        });
        return out;
    }

    @Override
    public void close() {
        synchronized (binders) {
            for (AutoCloseable b : binders) {
                try {
                    b.close();
                } catch (Exception ignored) {
                    // closing a binder only unregisters meters
                }
            }
            binders.clear();
        }
        gc.close();
        registry.close();
    }
}
