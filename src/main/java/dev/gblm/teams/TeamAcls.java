package dev.gblm.teams;

import static dev.gblm.teams.AclRule.Operation.CREATE;
import static dev.gblm.teams.AclRule.Operation.DESCRIBE;
import static dev.gblm.teams.AclRule.Operation.DESCRIBE_CONFIGS;
import static dev.gblm.teams.AclRule.Operation.READ;
import static dev.gblm.teams.AclRule.Operation.WRITE;
import static dev.gblm.teams.AclRule.Resource.GROUP;
import static dev.gblm.teams.AclRule.Resource.TOPIC;

import dev.gblm.GblmException;
import dev.gblm.stream.Topics;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a team may do. A team owns the streams {@code <team>.*} (topics {@code calib.<team>.*}) and its job topic
 * {@code gblm.jobs.<team>}; it may read the public results (gblm.epochs, gblm.models, gblm.job-status) and use the
 * consumer groups {@code gblm-<team>-*}. It gets nothing on other teams' topics except what a grant adds, and
 * nothing on gblm's internal topics.
 */
public final class TeamAcls {
    private static final Pattern USER = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private TeamAcls() {}

    /**
     * The ACLs of {@code team}: principal {@code User:<team>} plus one per member, each with {@code quota}.
     * Throws a one-line GblmException for a bad team or member name.
     */
    public static AclSet of(String team, List<String> members, Quota quota) {
        Topics.requireTeam(team);
        Set<String> users = new LinkedHashSet<>();
        users.add(team);
        for (String m : members) {
            if (m == null || !USER.matcher(m).matches()) {
                throw new GblmException("invalid member '" + m + "': a Kafka user name of 1-64 of A-Z a-z 0-9 . _ -");
            }
            users.add(m);
        }
        return new AclSet(team, List.copyOf(users), rules(team), quota);
    }

    /** The rules of a team, without validating the name (the docs render them for the placeholder {@code <team>}). */
    static List<AclRule> rules(String team) {
        List<AclRule> r = new ArrayList<>();
        r.add(AclRule.prefixed(TOPIC, Topics.CALIBRATION_PREFIX + team + ".",
                "its calibration streams: gblm ingest creates, checks, writes and reads them",
                CREATE, DESCRIBE, DESCRIBE_CONFIGS, READ, WRITE));
        r.add(AclRule.literal(TOPIC, Topics.TEAM_JOBS_PREFIX + team,
                "its jobs: only the team (and super users) may write them", DESCRIBE, DESCRIBE_CONFIGS, READ, WRITE));
        for (Topics.Topic<?, ?> t : List.of(Topics.EPOCHS, Topics.MODELS, Topics.JOB_STATUS)) {
            r.add(AclRule.literal(TOPIC, t.name(), "gblm job status (every team's job ids are visible)", DESCRIBE, READ));
        }
        r.add(AclRule.prefixed(GROUP, groupPrefix(team), "consumer groups of its clients", READ));
        return r;
    }

    /** The consumer groups a team may use: {@code gblm-<team>-*}. */
    public static String groupPrefix(String team) {
        return "gblm-" + team + "-";
    }

    /** The rule a grant adds: read one calibration stream of another team. */
    public static AclRule grant(String stream) {
        return AclRule.literal(TOPIC, Topics.calibrationTopic(stream), "shared stream (gblm team grant)", DESCRIBE, READ);
    }

    /**
     * Checks that {@code team} may be granted {@code stream}: a valid stream that the team does not own already.
     * Returns the grant rule.
     */
    public static AclRule grantFor(String team, String stream) {
        Topics.requireTeam(team);
        AclRule rule = grant(stream);
        if (team.equals(Topics.teamOfStream(stream))) {
            throw new GblmException("stream " + stream + " belongs to team " + team + ", which reads it anyway");
        }
        return rule;
    }

    /** {@code team} with read grants on {@code streams} (what a Strimzi KafkaUser must list: the operator owns its ACLs). */
    public static AclSet withGrants(AclSet team, List<String> streams) {
        List<AclRule> rules = new ArrayList<>(team.rules());
        for (String s : streams) {
            rules.add(grantFor(team.name(), s));
        }
        return new AclSet(team.name(), team.users(), rules, team.quota());
    }

    /**
     * Refuses a team that would share a principal with a service, or whose consumer groups overlap a service's
     * groups or transactional ids (team {@code worker} would get {@code gblm-worker-*}, the workers' groups).
     */
    public static void requireNoClash(AclSet team, List<AclSet> services) {
        for (AclSet s : services) {
            for (String u : team.users()) {
                if (s.users().contains(u)) {
                    throw new GblmException("user " + u + " of team " + team.name() + " is the " + s.name()
                            + "'s service principal: choose another team name or member");
                }
            }
            for (AclRule t : team.rules()) {
                if (t.resource() != GROUP) {
                    continue;
                }
                for (AclRule r : s.rules()) {
                    boolean ids = r.resource() == GROUP || r.resource() == AclRule.Resource.TRANSACTIONAL_ID;
                    if (ids && t.overlaps(new AclRule(GROUP, r.name(), r.match(), r.operations(), r.why()))) {
                        throw new GblmException("team name " + team.name() + " is reserved: its consumer groups "
                                + t.resourceText() + " overlap the " + s.name() + "'s " + r.resourceText());
                    }
                }
            }
        }
    }
}
