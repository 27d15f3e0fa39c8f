package dev.gblm.teams;

import java.util.Comparator;
import java.util.EnumSet;
import java.util.Objects;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * One ALLOW rule: these operations on the resources {@code name} (LITERAL) or starting with {@code name} (PREFIXED).
 * The enum constants are named as Kafka's {@code ResourceType}, {@code PatternType} and {@code AclOperation}, so the
 * Admin edge maps them by name; the Strimzi spelling is kept here next to them.
 *
 * @param resource   what kind of resource
 * @param name       the resource name or prefix ({@code kafka-cluster} for the cluster)
 * @param match      literal name or prefix
 * @param operations what is allowed (never empty)
 * @param why        one line: what needs it (shown in the docs table and as a YAML comment)
 */
public record AclRule(Resource resource, String name, Match match, SortedSet<Operation> operations, String why) {
    /** The resource kinds gblm's rules use. */
    public enum Resource {
        TOPIC("topic"), GROUP("group"), TRANSACTIONAL_ID("transactionalId"), CLUSTER("cluster");

        final String strimzi;

        Resource(String strimzi) {
            this.strimzi = strimzi;
        }
    }

    /** How {@link #name} matches. */
    public enum Match {
        LITERAL("literal"), PREFIXED("prefix");

        final String strimzi;

        Match(String strimzi) {
            this.strimzi = strimzi;
        }
    }

    /** The operations gblm's rules use. */
    public enum Operation {
        READ("Read"), WRITE("Write"), CREATE("Create"), DELETE("Delete"), DESCRIBE("Describe"),
        DESCRIBE_CONFIGS("DescribeConfigs");

        final String strimzi;

        Operation(String strimzi) {
            this.strimzi = strimzi;
        }
    }

    /** The name Kafka gives the cluster resource. */
    public static final String CLUSTER_NAME = "kafka-cluster";

    public AclRule {
        Objects.requireNonNull(resource, "resource");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(match, "match");
        if (operations == null || operations.isEmpty()) {
            throw new IllegalArgumentException("a rule on " + name + " without operations");
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException("a rule without a resource name");
        }
        operations = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(operations));
        why = why == null ? "" : why;
    }

    static AclRule literal(Resource r, String name, String why, Operation first, Operation... more) {
        return new AclRule(r, name, Match.LITERAL, ops(first, more), why);
    }

    static AclRule prefixed(Resource r, String prefix, String why, Operation first, Operation... more) {
        return new AclRule(r, prefix, Match.PREFIXED, ops(first, more), why);
    }

    private static SortedSet<Operation> ops(Operation first, Operation... more) {
        return new TreeSet<>(EnumSet.of(first, more));
    }

    /** Whether some resource name matches both this rule and {@code other} (same resource kind). */
    public boolean overlaps(AclRule other) {
        if (resource != other.resource) {
            return false;
        }
        boolean thisCovers = match == Match.PREFIXED ? other.name.startsWith(name) : other.name.equals(name);
        boolean otherCovers = other.match == Match.PREFIXED ? name.startsWith(other.name) : name.equals(other.name);
        return thisCovers || otherCovers;
    }

    /** Whether this rule allows {@code op} on the resource named {@code resourceName} of kind {@code kind}. */
    public boolean allows(Resource kind, String resourceName, Operation op) {
        return resource == kind && operations.contains(op)
                && (match == Match.PREFIXED ? resourceName.startsWith(name) : resourceName.equals(name));
    }

    /** The resource as text, e.g. {@code topic calib.a.*} or {@code group gblm-a-*}. */
    public String resourceText() {
        return resource.strimzi + " " + name + (match == Match.PREFIXED ? "*" : "");
    }

    /** Sort order of rules in rendered output: resource kind, then name, then match. */
    static final Comparator<AclRule> ORDER = Comparator.comparing(AclRule::resource).thenComparing(AclRule::name)
            .thenComparing(AclRule::match);
}
