package dev.gblm.stream.finalizer;

import java.util.List;

/**
 * Whether a principal may read a topic, decided from the ACL entries whose resource pattern matches the topic
 * (literal, prefixed or wildcard) the way Kafka's authorizer decides it: a matching DENY wins over any ALLOW, and
 * READ is allowed by an ALLOW of READ or ALL for the principal itself or {@code User:*}. The check is stricter than
 * the broker where hosts are concerned, because the finalizer does not know the team's hosts: an ALLOW restricted
 * to a host does not count, a DENY restricted to a host does.
 */
final class TopicReadGrant {
    private TopicReadGrant() {}

    /** One ACL entry of a binding that matches the topic. */
    record Entry(String principal, String host, String operation, boolean allow) {}

    static boolean allows(String principal, List<Entry> matching) {
        boolean allowed = false;
        for (Entry e : matching) {
            boolean forPrincipal = e.principal().equals(principal) || e.principal().equals("User:*");
            boolean read = e.operation().equals("READ") || e.operation().equals("ALL");
            if (!forPrincipal || !read) {
                continue;
            }
            if (!e.allow()) {
                return false;
            }
            if (e.host().equals("*")) {
                allowed = true;
            }
        }
        return allowed;
    }
}
