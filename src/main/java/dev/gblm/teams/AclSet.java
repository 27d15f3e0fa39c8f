package dev.gblm.teams;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What one team or service may do: the same rules and quota for each of its Kafka users (principal
 * {@code User:<user>}).
 *
 * @param name  the team or service, for messages and headings
 * @param users the user names (principals without {@code User:}), the first is the team's or service's own
 * @param rules the ALLOW rules, in a stable order
 * @param quota the quota of each user
 */
public record AclSet(String name, List<String> users, List<AclRule> rules, Quota quota) {
    public AclSet {
        Objects.requireNonNull(name, "name");
        users = List.copyOf(users);
        List<AclRule> sorted = new ArrayList<>(rules);
        sorted.sort(AclRule.ORDER);
        rules = List.copyOf(sorted);
        Objects.requireNonNull(quota, "quota");
    }

    /** Whether these rules allow {@code op} on the resource {@code resourceName} of kind {@code kind}. */
    public boolean allows(AclRule.Resource kind, String resourceName, AclRule.Operation op) {
        return rules.stream().anyMatch(r -> r.allows(kind, resourceName, op));
    }

    /** The principal of a user name. */
    public static String principal(String user) {
        return "User:" + user;
    }
}
