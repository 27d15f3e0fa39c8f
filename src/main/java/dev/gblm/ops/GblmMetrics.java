package dev.gblm.ops;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
    /**
     * Tag naming a gblm job on per-job meters. Never {@code job}: Prometheus attaches its own {@code job} (and
     * {@code instance}) target labels to every scraped series and would rename a clashing one to
     * {@code exported_job} (or overwrite it with {@code honor_labels}).
     */
    public static final String JOB_TAG = "gblm_job";
    /** Histogram bucket bounds (seconds) of per-sample compute time ({@code gblm_worker_sample_seconds}). */
    public static final List<Double> SAMPLE_BUCKETS = List.of(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0);
    /** Bounds (seconds) of slice commit time ({@code gblm_worker_slice_flush_seconds}). */
    public static final List<Double> COMMIT_BUCKETS = List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
            1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0);
    /** Bounds (seconds) of epoch write time ({@code gblm_exporter_export_time_seconds}). */
    public static final List<Double> EXPORT_BUCKETS = List.of(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0);
    /** Bounds (seconds) of epoch latency, last sample to export ({@code gblm_exporter_end_to_end_latency_seconds}). */
    public static final List<Double> LATENCY_BUCKETS = List.of(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0);
    /**
     * Tag names a gblm meter must not carry: Prometheus's target labels ({@code job}, {@code instance}) and the labels
     * of its histogram and summary series. Registering a {@code gblm.*} meter with one throws.
     */
    public static final Set<String> TARGET_LABELS = Set.of("job", "instance", "le", "quantile");

    /** Bucket bounds in seconds as durations, for {@code Timer.Builder#serviceLevelObjectives}. */
    public static Duration[] buckets(List<Double> seconds) {
        return seconds.stream().map(s -> Duration.ofNanos(Math.round(s * 1e9))).toArray(Duration[]::new);
    }

    private final PrometheusMeterRegistry registry;
    private final List<AutoCloseable> binders = new ArrayList<>();
    private final Map<String, Health.Check> checks = new LinkedHashMap<>();
    private final JvmGcMetrics gc = new JvmGcMetrics();

    /** @param component common tag {@code component} on every meter (ingest, worker, finalizer, ...) */
    public GblmMetrics(String component) {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags(Tags.of("component", component));
        registry.config().meterFilter(new MeterFilter() {
            @Override
            public MeterFilterReply accept(Meter.Id id) {
                if (!id.getName().startsWith("gblm.")) {
                    return MeterFilterReply.NEUTRAL; // library binders: their tags are theirs
                }
                for (Tag t : id.getTagsAsIterable()) {
                    if (TARGET_LABELS.contains(t.getKey())) {
                        // a programming error: the series would lose or rename its label at scrape time
                        throw new IllegalArgumentException("meter " + id.getName() + " uses the reserved tag '"
                                + t.getKey() + "' (Prometheus target label); use " + JOB_TAG + " for a gblm job");
                    }
                }
                return MeterFilterReply.NEUTRAL;
            }
        });
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
