package dev.gblm.teams;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** The ACL model as a Markdown table: the one in docs/security.md (a test keeps them equal). */
public final class AclTable {
    private AclTable() {}

    /** The table of a team (placeholder {@code <team>}) and of the default service principals. */
    public static String forDocs() {
        List<AclSet> sets = new ArrayList<>();
        sets.add(new AclSet("<team>", List.of("<team>"), TeamAcls.rules("<team>"), Quota.NONE));
        sets.addAll(ServiceAcls.all(ServiceAcls.Names.DEFAULT));
        return markdown(sets);
    }

    /** One row per rule: principal, resource ({@code *} = prefixed), operations, why. */
    public static String markdown(List<AclSet> sets) {
        StringBuilder sb = new StringBuilder();
        sb.append("| principal | resource | operations | why |\n");
        sb.append("| --- | --- | --- | --- |\n");
        for (AclSet set : sets) {
            String who = set.users().stream().map(u -> "`User:" + u + "`").collect(Collectors.joining(", "));
            for (AclRule r : set.rules()) {
                sb.append("| ").append(who).append(" | ").append(r.resource().strimzi).append(" `")
                        .append(r.match() == AclRule.Match.PREFIXED ? r.name() + "*" : r.name()).append("` | ")
                        .append(r.operations().stream().map(o -> o.strimzi).collect(Collectors.joining(", ")))
                        .append(" | ").append(r.why()).append(" |\n");
            }
        }
        return sb.toString();
    }
}
