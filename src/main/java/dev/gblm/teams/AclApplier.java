package dev.gblm.teams;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicReport;
import dev.gblm.stream.topics.TopicSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.SecurityDisabledException;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.quota.ClientQuotaFilterComponent;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/**
 * Applies the ACL model to a cluster through the Admin API, as a user allowed to (a super user, or ALTER and
 * ALTER_CONFIGS on the cluster): creates ACLs (idempotent: an existing binding stays as it is), deletes a grant's,
 * sets quotas, creates a team's job topic. Every failure is one line.
 */
public final class AclApplier implements AutoCloseable {
    private static final long TIMEOUT_S = 30;
    /** Kafka's quota keys. */
    static final String PRODUCER_BYTE_RATE = "producer_byte_rate";
    static final String CONSUMER_BYTE_RATE = "consumer_byte_rate";

    private final Admin admin;
    private final boolean owned;

    public AclApplier(Admin admin) {
        this(admin, false);
    }

    private AclApplier(Admin admin, boolean owned) {
        this.admin = admin;
        this.owned = owned;
    }

    /** An admin client of its own, closed with this object. */
    public static AclApplier connect(KafkaSettings kafka) {
        Properties p = kafka.admin("gblm-team-admin");
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TimeUnit.SECONDS.toMillis(TIMEOUT_S));
        return new AclApplier(Admin.create(p), true);
    }

    /** What {@link #apply} did: bindings wanted, and how many of them were new. */
    public record Applied(int bindings, int created) {}

    /** Creates every binding of {@code set} for each of its users; sets each user's quota. */
    public Applied apply(AclSet set) {
        List<AclBinding> wanted = bindings(set.users(), set.rules());
        Set<AclBinding> existing = new HashSet<>();
        for (String user : set.users()) {
            // named after what the caller asked for: a user who may not describe ACLs may not create them either
            existing.addAll(call("create ACLs", "ALTER", admin.describeAcls(principalFilter(user)).values()));
        }
        int created = (int) wanted.stream().filter(b -> !existing.contains(b)).count();
        call("create ACLs", "ALTER", admin.createAcls(wanted).all());
        for (String user : set.users()) {
            setQuota(user, set.quota());
        }
        return new Applied(wanted.size(), created);
    }

    /** Sets (or, for a 0 rate, removes) the byte-rate quotas of user {@code user}. */
    public void setQuota(String user, Quota q) {
        ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.USER, user));
        List<ClientQuotaAlteration.Op> ops = List.of(
                new ClientQuotaAlteration.Op(PRODUCER_BYTE_RATE, rate(q.producerByteRate())),
                new ClientQuotaAlteration.Op(CONSUMER_BYTE_RATE, rate(q.consumerByteRate())));
        call("alter quotas", "ALTER_CONFIGS", admin.alterClientQuotas(List.of(new ClientQuotaAlteration(entity, ops))).all());
    }

    private static Double rate(long bytesPerSec) {
        return bytesPerSec == 0 ? null : (double) bytesPerSec;
    }

    /** The quotas of user {@code user} (0 = none). */
    public Quota quota(String user) {
        ClientQuotaFilter filter = ClientQuotaFilter.containsOnly(
                List.of(ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.USER, user)));
        Map<ClientQuotaEntity, Map<String, Double>> all = call("describe quotas", "DESCRIBE_CONFIGS",
                admin.describeClientQuotas(filter).entities());
        Map<String, Double> q = all.getOrDefault(new ClientQuotaEntity(Map.of(ClientQuotaEntity.USER, user)), Map.of());
        return new Quota(q.getOrDefault(PRODUCER_BYTE_RATE, 0.0).longValue(),
                q.getOrDefault(CONSUMER_BYTE_RATE, 0.0).longValue());
    }

    /** Creates {@code spec} if missing, else checks it. */
    public TopicReport ensureTopic(TopicSpec spec) {
        return new TopicAdmin(admin).ensure(spec);
    }

    /**
     * The users of an applied team: the principals allowed to write {@code gblm.jobs.<team>}. A one-line error when
     * there are none (the team was never applied).
     */
    public List<String> teamUsers(String team) {
        String topic = Topics.teamJobsTopic(team);
        AclBindingFilter f = new AclBindingFilter(
                new ResourcePatternFilter(ResourceType.TOPIC, topic, PatternType.LITERAL),
                new AccessControlEntryFilter(null, null, AclOperation.WRITE, AclPermissionType.ALLOW));
        Set<String> users = new TreeSet<>();
        for (AclBinding b : describe(f)) {
            String p = b.entry().principal();
            if (p.startsWith("User:")) {
                users.add(p.substring("User:".length()));
            }
        }
        if (users.isEmpty()) {
            throw new GblmException("team " + team + " is not applied (no ACLs on " + topic + "): run `gblm team apply "
                    + team + "` first");
        }
        // the team's own user first, as in the model
        List<String> out = new ArrayList<>();
        if (users.remove(team)) {
            out.add(team);
        }
        out.addAll(users);
        return out;
    }

    /** Lets every user of {@code team} read {@code stream}; returns the users. */
    public List<String> grant(String team, String stream) {
        AclRule rule = TeamAcls.grantFor(team, stream);
        List<String> users = teamUsers(team);
        call("create ACLs", "ALTER", admin.createAcls(bindings(users, List.of(rule))).all());
        return users;
    }

    /** Removes what {@link #grant} created; returns how many bindings were deleted (0: there was no such grant). */
    public int revoke(String team, String stream) {
        AclRule rule = TeamAcls.grantFor(team, stream);
        List<AclBindingFilter> filters = bindings(teamUsers(team), List.of(rule)).stream().map(AclBinding::toFilter)
                .toList();
        Collection<AclBinding> deleted = call("delete ACLs", "ALTER", admin.deleteAcls(filters).all());
        return deleted.size();
    }

    /**
     * The topics the users of {@code team} may read, one line each: {@code calib.a.* (own streams)}; granted
     * streams, the public topics.
     */
    public List<String> readable(String team) {
        Map<String, String> lines = new HashMap<>();
        for (String user : teamUsers(team)) {
            for (AclBinding b : describe(principalFilter(user))) {
                ResourcePattern p = b.pattern();
                if (p.resourceType() != ResourceType.TOPIC || b.entry().operation() != AclOperation.READ
                        || b.entry().permissionType() != AclPermissionType.ALLOW) {
                    continue;
                }
                boolean prefixed = p.patternType() == PatternType.PREFIXED;
                String name = p.name() + (prefixed ? "*" : "");
                String what = prefixed && p.name().equals(Topics.teamCalibrationPrefix(team)) ? "own streams"
                        : p.name().equals(Topics.teamJobsTopic(team)) ? "own jobs"
                        : !prefixed && p.name().startsWith(Topics.CALIBRATION_PREFIX) ? "granted stream "
                                + Topics.streamOf(p.name())
                        : "public";
                lines.merge(name, what + " (" + user + ")", (a, c) -> a.substring(0, a.length() - 1) + ", "
                        + c.substring(c.indexOf('(') + 1));
            }
        }
        return lines.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey() + "  " + e.getValue()).toList();
    }

    /** The Kafka bindings of {@code rules} for each user. */
    static List<AclBinding> bindings(List<String> users, List<AclRule> rules) {
        List<AclBinding> out = new ArrayList<>();
        for (String user : users) {
            for (AclRule r : rules) {
                ResourcePattern pattern = new ResourcePattern(ResourceType.valueOf(r.resource().name()), r.name(),
                        PatternType.valueOf(r.match().name()));
                for (AclRule.Operation op : r.operations()) {
                    out.add(new AclBinding(pattern, new AccessControlEntry(AclSet.principal(user), "*",
                            AclOperation.valueOf(op.name()), AclPermissionType.ALLOW)));
                }
            }
        }
        return out;
    }

    private static AclBindingFilter principalFilter(String user) {
        return new AclBindingFilter(ResourcePatternFilter.ANY,
                new AccessControlEntryFilter(AclSet.principal(user), null, AclOperation.ANY, AclPermissionType.ANY));
    }

    private Collection<AclBinding> describe(AclBindingFilter f) {
        return call("describe ACLs", "DESCRIBE", admin.describeAcls(f).values());
    }

    private static <T> T call(String what, String needs, KafkaFuture<T> future) {
        try {
            return future.get(TIMEOUT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof ClusterAuthorizationException) {
                throw new GblmException("the user of --kafka-config may not " + what + " (needs " + needs
                        + " on the cluster: use an admin)", c);
            }
            if (c instanceof SecurityDisabledException) {
                throw new GblmException("cannot " + what + ": the cluster has no authorizer (a secured cluster is"
                        + " needed: see docs/security.md)", c);
            }
            throw new GblmException("cannot " + what + ": " + c.getMessage(), c);
        } catch (TimeoutException e) {
            throw new GblmException("timed out trying to " + what + " (is Kafka reachable?)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GblmException("interrupted while trying to " + what, e);
        }
    }

    @Override
    public void close() {
        if (owned) {
            admin.close();
        }
    }
}
