package dev.gblm.teams;

import static dev.gblm.teams.AclRule.Operation.CREATE;
import static dev.gblm.teams.AclRule.Operation.DESCRIBE;
import static dev.gblm.teams.AclRule.Operation.READ;
import static dev.gblm.teams.AclRule.Operation.WRITE;
import static dev.gblm.teams.AclRule.Resource.CLUSTER;
import static dev.gblm.teams.AclRule.Resource.GROUP;
import static dev.gblm.teams.AclRule.Resource.TOPIC;
import static dev.gblm.teams.AclRule.Resource.TRANSACTIONAL_ID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.stream.Topics;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pure ACL model: what each team and service may do, and what nobody else may. */
class TeamAclsTest {
    static final List<AclSet> SERVICES = ServiceAcls.all(ServiceAcls.Names.DEFAULT);
    static final AclSet A = TeamAcls.of("a", List.of("alice"), new Quota(Quota.DEFAULT_PRODUCE_BYTES_PER_SEC, 0));

    static AclSet service(String name) {
        return SERVICES.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void teamHelpersOnTheRegistry() {
        assertThat(Topics.teamJobsTopic("team-1")).isEqualTo("gblm.jobs.team-1");
        assertThat(Topics.teamCalibrationPrefix("a")).isEqualTo("calib.a.");
        assertThat(Topics.teamStreamPrefix("a")).isEqualTo("a.");
        assertThat(Topics.teamOfStream("b.wiki")).isEqualTo("b");
        assertThat(Topics.teamOfStream("b.wiki.v2")).isEqualTo("b");
        assertThat(Topics.teamOfStream("wiki")).isNull();
        assertThat(Topics.teamOfStream(".x")).isNull();
        assertThat(Topics.teamOfStream("Team_B.x")).as("not a team name").isNull();
        assertThat(Topics.TEAM_JOBS_PATTERN.matcher("gblm.jobs.a-1").matches()).isTrue();
        assertThat(Topics.TEAM_JOBS_PATTERN.matcher("gblm.jobs").matches()).isFalse();
        assertThat(Topics.TEAM_JOBS_PATTERN.matcher("gblm.jobs.a.b").matches()).isFalse();
        assertThat(Topics.TEAM_JOBS_PATTERN.matcher("gblm.jobs." + "x".repeat(33)).matches()).isFalse();
        for (String bad : new String[] {"", "-a", "A", "a.b", "a_b", "x".repeat(33), null}) {
            assertThatThrownBy(() -> Topics.requireTeam(bad)).isInstanceOf(GblmException.class)
                    .hasMessageStartingWith("invalid team name '" + bad + "'").hasMessageNotContaining("\n");
        }
        assertThat(Topics.requireTeam("0-team")).isEqualTo("0-team");
    }

    @Test
    void aTeamOwnsItsStreamsAndJobTopicAndReadsThePublicTopics() {
        assertThat(A.users()).containsExactly("a", "alice");
        assertThat(A.allows(TOPIC, "calib.a.wiki", WRITE)).isTrue();
        assertThat(A.allows(TOPIC, "calib.a.wiki", CREATE)).isTrue();
        assertThat(A.allows(TOPIC, "calib.a.wiki", READ)).isTrue();
        assertThat(A.allows(TOPIC, "gblm.jobs.a", WRITE)).isTrue();
        for (String t : List.of("gblm.epochs", "gblm.models", "gblm.job-status")) {
            assertThat(A.allows(TOPIC, t, READ)).as(t).isTrue();
            assertThat(A.allows(TOPIC, t, WRITE)).as(t).isFalse();
        }
        assertThat(A.allows(GROUP, "gblm-a-ingest", READ)).isTrue();
    }

    @Test
    void aTeamGetsNothingOnOtherTeamsNorOnInternalTopics() {
        for (String t : List.of("calib.b.wiki", "calib.ab.x", "calib.wiki", "gblm.jobs.b", "gblm.jobs.ab", "gblm.jobs",
                "gblm.stats", "gblm.slices", "gblm.masks", "gblm.dlq", "gblm.finalize", "gblm.finalize-acks",
                "gblm-finalizer-store-changelog")) {
            for (AclRule.Operation op : AclRule.Operation.values()) {
                assertThat(A.allows(TOPIC, t, op)).as("%s %s", op, t).isFalse();
            }
        }
        assertThat(A.allows(GROUP, "gblm-b-x", READ)).isFalse();
        assertThat(A.allows(GROUP, "gblm-worker", READ)).isFalse();
        assertThat(A.rules()).noneMatch(r -> r.resource() == TRANSACTIONAL_ID || r.resource() == CLUSTER);
    }

    @Test
    void onlyTheServicesWriteTheInternalTopics() {
        record W(String topic, List<String> writers) {}
        for (W w : List.of(new W("gblm.stats", List.of("worker")), new W("gblm.slices", List.of("worker")),
                new W("gblm.dlq", List.of("worker", "finalizer", "exporter")),
                new W("gblm.finalize", List.of("finalizer")), new W("gblm.finalize-acks", List.of("finalizer")),
                new W("gblm.epochs", List.of("finalizer")), new W("gblm.masks", List.of("finalizer")),
                new W("gblm.job-status", List.of("finalizer")), new W("gblm.models", List.of("exporter")),
                new W("gblm.jobs", List.of("finalizer")) /* its team-jobs relay */, new W("gblm.jobs.a", List.of("team a")))) {
            List<String> writers = new java.util.ArrayList<>();
            SERVICES.stream().filter(s -> s.allows(TOPIC, w.topic(), WRITE)).forEach(s -> writers.add(s.name()));
            if (A.allows(TOPIC, w.topic(), WRITE)) {
                writers.add("team a");
            }
            assertThat(writers).as(w.topic()).containsExactlyInAnyOrderElementsOf(w.writers());
        }
        assertThat(service("worker").allows(TOPIC, "calib.b.wiki", READ)).isTrue();
        assertThat(service("worker").allows(TRANSACTIONAL_ID, "gblm-worker-p1-w0", WRITE)).isTrue();
        assertThat(service("worker").allows(GROUP, "gblm-worker-p1", READ)).isTrue();
        assertThat(service("finalizer").allows(TOPIC, "gblm.jobs.a", READ)).isTrue();
        assertThat(service("finalizer").allows(CLUSTER, AclRule.CLUSTER_NAME, DESCRIBE)).isTrue();
        assertThat(service("finalizer").allows(TRANSACTIONAL_ID, "gblm-finalizer-1234-0", WRITE)).isTrue();
        assertThat(service("exporter").allows(TRANSACTIONAL_ID, "gblm-exporter-gblm-exporter", WRITE)).isTrue();
        assertThat(service("exporter").allows(TOPIC, "gblm.stats", READ)).isFalse();
    }

    @Test
    void serviceNamesAreConfigurable() {
        ServiceAcls.Names n = new ServiceAcls.Names("w", "f", "e", "wg", "fin-prod", "exp-prod");
        assertThat(ServiceAcls.finalizer(n).users()).containsExactly("f");
        assertThat(ServiceAcls.finalizer(n).allows(GROUP, "fin-prod", READ)).isTrue();
        assertThat(ServiceAcls.finalizer(n).allows(TOPIC, "fin-prod-x-changelog", CREATE)).isTrue();
        assertThat(ServiceAcls.exporter(n).allows(TRANSACTIONAL_ID, "gblm-exporter-exp-prod", WRITE)).isTrue();
        assertThatThrownBy(() -> new ServiceAcls.Names("w", "w", "e", "wg", "f", "e"))
                .isInstanceOf(GblmException.class).hasMessageContaining("three different principals");
    }

    @Test
    void grantsAndClashes() {
        assertThat(TeamAcls.grantFor("a", "b.wiki")).isEqualTo(AclRule.literal(TOPIC, "calib.b.wiki",
                "shared stream (gblm team grant)", READ, DESCRIBE));
        assertThat(TeamAcls.withGrants(A, List.of("b.wiki")).allows(TOPIC, "calib.b.wiki", READ)).isTrue();
        assertThat(TeamAcls.withGrants(A, List.of("b.wiki")).allows(TOPIC, "calib.b.wiki", WRITE)).isFalse();
        assertThatThrownBy(() -> TeamAcls.grantFor("a", "a.wiki")).hasMessage(
                "stream a.wiki belongs to team a, which reads it anyway");
        assertThatThrownBy(() -> TeamAcls.grantFor("a", "bad name")).hasMessageStartingWith("invalid stream name");
        for (String reserved : List.of("worker", "worker-x", "finalizer", "exporter")) {
            AclSet t = TeamAcls.of(reserved, List.of(), Quota.NONE);
            assertThatThrownBy(() -> TeamAcls.requireNoClash(t, SERVICES)).as(reserved)
                    .isInstanceOf(GblmException.class).hasMessageStartingWith("team name " + reserved + " is reserved");
        }
        AclSet stealsPrincipal = TeamAcls.of("x", List.of("gblm-finalizer"), Quota.NONE);
        assertThatThrownBy(() -> TeamAcls.requireNoClash(stealsPrincipal, SERVICES))
                .hasMessageContaining("is the finalizer's service principal");
        TeamAcls.requireNoClash(A, SERVICES);
        TeamAcls.requireNoClash(TeamAcls.of("workers-team", List.of(), Quota.NONE),
                ServiceAcls.all(new ServiceAcls.Names("gblm-worker", "gblm-finalizer", "gblm-exporter", "gblm-worker-",
                        "gblm-finalizer", "gblm-exporter")));
        assertThatThrownBy(() -> TeamAcls.of("a", List.of("bad user"), Quota.NONE))
                .hasMessageStartingWith("invalid member 'bad user'");
        assertThatThrownBy(() -> new Quota(-1, 0)).isInstanceOf(GblmException.class);
    }
}
