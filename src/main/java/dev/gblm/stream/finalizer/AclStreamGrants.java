package dev.gblm.stream.finalizer;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stream.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link StreamGrants} from the cluster's ACLs ({@code Admin.describeAcls}, which needs DESCRIBE on the cluster): the
 * team's principal is {@code User:<team>} (`gblm team apply` gives every member the same ACLs). Answers are cached
 * for {@code ttl}, so the planner's rounds cost one request per stream and interval. A cluster without an authorizer
 * answers with {@link SecurityDisabledException}: then nothing is enforced, and the finalizer says so once.
 */
public final class AclStreamGrants implements StreamGrants {
    private static final Logger LOG = LoggerFactory.getLogger(AclStreamGrants.class);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private record Cached(long atNanos, List<TopicReadGrant.Entry> entries) {}

    private final Admin admin;
    private final long ttlNanos;
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private volatile boolean securityDisabled;

    AclStreamGrants(Admin admin, Duration ttl) {
        this.admin = admin;
        this.ttlNanos = ttl.toNanos();
    }

    public static AclStreamGrants connect(KafkaSettings kafka, Duration ttl) {
        return new AclStreamGrants(Admin.create(kafka.admin("gblm-finalizer-grants")), ttl);
    }

    @Override
    public List<String> refused(String team, List<String> streams) {
        String principal = "User:" + Topics.requireTeam(team);
        List<String> out = new ArrayList<>();
        for (String s : streams) {
            List<TopicReadGrant.Entry> entries = entries(Topics.calibrationTopic(s));
            if (entries != null && !TopicReadGrant.allows(principal, entries)) {
                out.add(s);
            }
        }
        return out;
    }

    @Override
    public boolean enforced() {
        return !securityDisabled;
    }

    /** The ACL entries matching {@code topic}; null when the cluster has no authorizer. */
    private List<TopicReadGrant.Entry> entries(String topic) {
        if (securityDisabled) {
            return null;
        }
        Cached c = cache.get(topic);
        long now = System.nanoTime();
        if (c != null && now - c.atNanos() < ttlNanos) {
            return c.entries();
        }
        AclBindingFilter filter = new AclBindingFilter(new ResourcePatternFilter(ResourceType.TOPIC, topic, PatternType.MATCH),
                AccessControlEntryFilter.ANY);
        Collection<AclBinding> bindings;
        try {
            bindings = admin.describeAcls(filter).values().get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof SecurityDisabledException) {
                securityDisabled = true;
                LOG.warn("the cluster has no authorizer: stream grants of team jobs are not enforced");
                return null;
            }
            throw new GblmException("cannot read the ACLs of " + topic + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new GblmException("cannot read the ACLs of " + topic + ": timed out after " + REQUEST_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GblmException("interrupted reading the ACLs of " + topic);
        }
        List<TopicReadGrant.Entry> entries = new ArrayList<>();
        for (AclBinding b : bindings) {
            entries.add(new TopicReadGrant.Entry(b.entry().principal(), b.entry().host(), b.entry().operation().name(),
                    b.entry().permissionType() == AclPermissionType.ALLOW));
        }
        cache.put(topic, new Cached(now, List.copyOf(entries)));
        return entries;
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(5));
    }
}
