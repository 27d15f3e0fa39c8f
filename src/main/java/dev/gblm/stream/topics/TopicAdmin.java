package dev.gblm.stream.topics;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaFailures;
import dev.gblm.ops.KafkaSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Creates missing topics from their definitions and checks existing ones. An existing topic that
 * differs from its definition is reported, never altered: changing partitions or configs of a live
 * topic is an operator's decision.
 */
public final class TopicAdmin implements AutoCloseable {
    private static final long TIMEOUT_S = 30;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TopicAdmin.class);
    /** How long a service started while the broker restarts waits for it. */
    public static final Duration SERVICE_CLUSTER_WAIT = dev.gblm.ops.KafkaRetry.SERVICE_WAIT;

    private final Admin admin;
    private final boolean owned;
    private Duration clusterWait = Duration.ofSeconds(TIMEOUT_S);

    public TopicAdmin(Admin admin) {
        this(admin, false);
    }

    private TopicAdmin(Admin admin, boolean owned) {
        this.admin = admin;
        this.owned = owned;
    }

    /** An admin client of its own, closed with this object. */
    /**
     * An admin client of its own for a long-running service: waits up to {@code clusterWait} for a cluster that
     * does not answer yet, instead of {@link #connect(KafkaSettings)}'s 30 seconds.
     */
    public static TopicAdmin connect(KafkaSettings kafka, Duration clusterWait) {
        TopicAdmin a = connect(kafka);
        a.clusterWait = clusterWait;
        return a;
    }

    public static TopicAdmin connect(KafkaSettings kafka) {
        Properties p = kafka.admin("gblm-topic-admin");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_S));
        return new TopicAdmin(Admin.create(p), true);
    }

    /** Creates every missing concrete topic of the catalog and checks all existing ones (templates by pattern). */
    public List<TopicReport> apply(TopicCatalog catalog) {
        return run(catalog, true);
    }

    /** Like {@link #apply} but creates nothing: missing topics are reported as MISSING. */
    public List<TopicReport> check(TopicCatalog catalog) {
        return run(catalog, false);
    }

    /** Creates {@code spec} if missing, else checks it. Used for per-stream topics from a template. */
    public TopicReport ensure(TopicSpec spec) {
        int brokers = brokerCount();
        Set<String> existing = listTopics();
        return existing.contains(spec.name())
                ? checkExisting(List.of(spec), brokers).get(0)
                : create(spec, brokers);
    }

    private List<TopicReport> run(TopicCatalog catalog, boolean create) {
        int brokers = brokerCount();
        Set<String> existing = listTopics();
        List<TopicReport> reports = new ArrayList<>();
        List<TopicSpec> toCheck = new ArrayList<>();
        for (TopicSpec spec : catalog.concrete()) {
            if (existing.contains(spec.name())) {
                toCheck.add(spec);
            } else if (create) {
                reports.add(create(spec, brokers));
            } else {
                reports.add(new TopicReport(spec.name(), TopicReport.Status.MISSING, List.of("topic does not exist, or this principal may not see it (no DESCRIBE ACL on a secured cluster)"), List.of()));
            }
        }
        for (TopicSpec template : catalog.templates()) {
            existing.stream().filter(template::matches).sorted().map(template::forName).forEach(toCheck::add);
        }
        reports.addAll(checkExisting(toCheck, brokers));
        reports.sort((a, b) -> a.topic().compareTo(b.topic()));
        return reports;
    }

    private TopicReport create(TopicSpec spec, int brokers) {
        short rf = spec.effectiveReplicationFactor(brokers);
        List<String> notes = new ArrayList<>();
        if (rf != spec.replicationFactor()) {
            notes.add("replication factor " + spec.replicationFactor() + " reduced to " + rf
                    + ": the cluster has " + brokers + " broker(s)");
        }
        Map<String, String> configs = spec.effectiveConfigs(brokers);
        if (!configs.equals(spec.configs())) {
            notes.add("min.insync.replicas reduced to " + rf + " with the replication factor");
        }
        NewTopic nt = new NewTopic(spec.name(), spec.partitions(), rf).configs(configs);
        try {
            admin.createTopics(List.of(nt)).all().get(TIMEOUT_S, TimeUnit.SECONDS);
            awaitMetadata(spec.name());
            return new TopicReport(spec.name(), TopicReport.Status.CREATED, List.of(), notes);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicExistsException) {
                // created concurrently by another process: check what it created
                return checkExisting(List.of(spec), brokers).get(0);
            }
            throw new GblmException("cannot create topic " + spec.name() + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw failure("creating topic " + spec.name(), e);
        }
    }

    /**
     * Waits (briefly) until the new topic can be described: CreateTopics returns before every broker serves its
     * metadata, and a client that produces or describes at once would otherwise see UnknownTopicOrPartition.
     */
    private void awaitMetadata(String topic) throws InterruptedException, TimeoutException {
        for (int attempt = 0; ; attempt++) {
            try {
                admin.describeTopics(List.of(topic)).allTopicNames().get(TIMEOUT_S, TimeUnit.SECONDS);
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || attempt >= 50) {
                    return; // the create succeeded; a later call reports whatever is still wrong
                }
                Thread.sleep(200);
            }
        }
    }

    private List<TopicReport> checkExisting(List<TopicSpec> specs, int brokers) {
        if (specs.isEmpty()) {
            return List.of();
        }
        List<String> names = specs.stream().map(TopicSpec::name).toList();
        try {
            Map<String, TopicDescription> descriptions = null;
            Map<ConfigResource, Config> configs = null;
            List<ConfigResource> resources = names.stream()
                    .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
            // a topic created moments ago is listed before every broker serves its metadata: retry briefly
            for (int attempt = 0; descriptions == null; attempt++) {
                try {
                    descriptions = admin.describeTopics(names).allTopicNames().get(TIMEOUT_S, TimeUnit.SECONDS);
                    configs = admin.describeConfigs(resources).all().get(TIMEOUT_S, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || attempt >= 50) {
                        throw e;
                    }
                    descriptions = null;
                    Thread.sleep(200);
                }
            }
            List<TopicReport> out = new ArrayList<>();
            for (TopicSpec spec : specs) {
                TopicDescription d = descriptions.get(spec.name());
                Config c = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, spec.name()));
                Map<String, String> values = new HashMap<>();
                for (ConfigEntry entry : c.entries()) {
                    if (entry.value() != null) {
                        values.put(entry.name(), entry.value());
                    }
                }
                int rf = d.partitions().isEmpty() ? 0 : d.partitions().get(0).replicas().size();
                List<String> diffs = TopicComparator.differences(
                        spec, brokers, new TopicComparator.Actual(d.partitions().size(), rf, values));
                out.add(new TopicReport(spec.name(),
                        diffs.isEmpty() ? TopicReport.Status.OK : TopicReport.Status.MISMATCH, diffs, List.of()));
            }
            return out;
        } catch (ExecutionException e) {
            throw new GblmException("cannot describe topics " + names + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw failure("describing topics " + names, e);
        }
    }

    public Set<String> listTopics() {
        try {
            return admin.listTopics().names().get(TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new GblmException("cannot list topics: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw failure("listing topics", e);
        }
    }

    /**
     * The cluster's broker count, waiting up to {@link #clusterWait} for a cluster that does not answer (a broker
     * restart is transient: a service started meanwhile must wait for it, not exit). Errors the broker answers with,
     * such as a failed authentication, fail at once.
     */
    private int brokerCount() {
        long deadline = System.nanoTime() + clusterWait.toNanos();
        for (int attempt = 1; ; attempt++) {
            try {
                Collection<?> nodes = admin.describeCluster().nodes().get(TIMEOUT_S, TimeUnit.SECONDS);
                return nodes.size();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException)
                        || System.nanoTime() > deadline) {
                    throw new GblmException("cannot reach Kafka: " + KafkaFailures.describe(e.getCause()), e.getCause());
                }
                LOG.warn("Kafka does not answer yet (attempt {}); waiting up to {} in all", attempt, clusterWait);
            } catch (TimeoutException e) {
                if (System.nanoTime() > deadline) {
                    throw failure("contacting the cluster", e);
                }
                LOG.warn("Kafka does not answer yet (attempt {}); waiting up to {} in all", attempt, clusterWait);
            } catch (InterruptedException e) {
                throw failure("contacting the cluster", e);
            }
        }
    }

    private static GblmException failure(String what, Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        return new GblmException("timed out " + what + " (is Kafka reachable?)", e);
    }

    /** Human-readable report, one block per topic. */
    public static String format(List<TopicReport> reports) {
        return reports.stream().map(TopicReport::describe).collect(Collectors.joining("\n"));
    }

    @Override
    public void close() {
        if (owned) {
            admin.close();
        }
    }
}
