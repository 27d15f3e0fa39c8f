package dev.gblm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.teams.AclSet;
import dev.gblm.teams.AclTable;
import dev.gblm.teams.KafkaUserRenderer;
import dev.gblm.teams.Quota;
import dev.gblm.teams.ServiceAcls;
import dev.gblm.teams.TeamAcls;
import dev.gblm.teams.TeamTopics;
import dev.gblm.testing.GblmCli;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import io.strimzi.api.kafka.model.user.KafkaUserAuthorizationSimple;
import io.strimzi.api.kafka.model.user.KafkaUserScramSha512ClientAuthentication;
import io.strimzi.api.kafka.model.user.acl.AclRule;
import io.strimzi.api.kafka.model.user.acl.AclRuleClusterResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleGroupResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTopicResource;
import io.strimzi.api.kafka.model.user.acl.AclRuleTransactionalIdResource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The Strimzi rendering of the ACL model parses strictly into Strimzi's kafka.strimzi.io/v1 classes and carries
 * exactly the model's rules; deploy/k8s/kafka-users.yaml and the table of docs/security.md are generated from it.
 */
class KafkaUsersUpToDateTest {
    static final Path KAFKA_USERS = Path.of("deploy/k8s/kafka-users.yaml");

    @Test
    void renderedTeamParsesAsStrimziV1AndCarriesTheModelsRules() throws Exception {
        AclSet team = TeamAcls.withGrants(TeamAcls.of("a", List.of("alice"), new Quota(1048576, 2097152)),
                List.of("b.wiki"));
        String yaml = KafkaUserRenderer.render("test", List.of(team),
                List.of(TeamTopics.jobsTopic("a", TopicCatalog.load(Path.of("topics")))), "gblm");
        List<DeployManifestsTest.Doc> docs = DeployManifestsTest.parse(Path.of("rendered"), yaml);
        List<KafkaUser> users = docs.stream().map(DeployManifestsTest.Doc::model).filter(KafkaUser.class::isInstance)
                .map(KafkaUser.class::cast).toList();
        assertThat(users).extracting(u -> u.getMetadata().getName()).containsExactly("a", "alice");
        for (KafkaUser u : users) {
            assertThat(u.getApiVersion()).isEqualTo("kafka.strimzi.io/v1");
            assertThat(u.getSpec().getAuthentication()).isInstanceOf(KafkaUserScramSha512ClientAuthentication.class);
            assertThat(u.getSpec().getQuotas().getProducerByteRate()).isEqualTo(1048576);
            assertThat(u.getSpec().getQuotas().getConsumerByteRate()).isEqualTo(2097152);
            assertThat(rules(u)).isEqualTo(rules(team));
        }
        KafkaTopic jobs = docs.stream().map(DeployManifestsTest.Doc::model).filter(KafkaTopic.class::isInstance)
                .map(KafkaTopic.class::cast).findFirst().orElseThrow();
        assertThat(jobs.getSpec().getTopicName()).isEqualTo("gblm.jobs.a");
        assertThat(jobs.getSpec().getConfig()).containsEntry("cleanup.policy", "compact");
    }

    @Test
    void deployedServiceUsersAreTheRenderedModel() throws Exception {
        GblmCli.Run r = GblmCli.gblm("team", "services", "render");
        assertThat(r.exit()).isZero();
        assertThat(Files.readString(KAFKA_USERS)).as("regenerate with: gblm team services render --out " + KAFKA_USERS)
                .isEqualTo(r.out());
        List<KafkaUser> users = DeployManifestsTest.parse(KAFKA_USERS, r.out()).stream()
                .map(d -> (KafkaUser) d.model()).toList();
        List<AclSet> model = ServiceAcls.all(ServiceAcls.Names.DEFAULT);
        assertThat(users).hasSameSizeAs(model);
        for (int i = 0; i < model.size(); i++) {
            assertThat(users.get(i).getMetadata().getName()).isEqualTo(model.get(i).users().get(0));
            assertThat(rules(users.get(i))).isEqualTo(rules(model.get(i)));
            assertThat(users.get(i).getSpec().getQuotas()).isNull();
        }
    }

    @Test
    void theAclTableOfTheSecurityDocIsTheModel() throws Exception {
        String doc = Files.readString(Path.of("docs/security.md"));
        String start = "<!-- acl-table: generated from dev.gblm.teams.AclTable.forDocs() -->\n";
        int from = doc.indexOf(start);
        assertThat(from).as("docs/security.md has the marker " + start.strip()).isNotNegative();
        int to = doc.indexOf("<!-- /acl-table -->", from);
        assertThat(doc.substring(from + start.length(), to)).isEqualTo(AclTable.forDocs());
    }

    /** A rule as {@code type pattern name operation}, one per operation, sorted. */
    static Set<String> rules(KafkaUser u) {
        Set<String> out = new TreeSet<>();
        for (AclRule r : ((KafkaUserAuthorizationSimple) u.getSpec().getAuthorization()).getAcls()) {
            String res = r.getResource() instanceof AclRuleTopicResource t ? "topic " + t.getPatternType().toValue()
                    + " " + t.getName()
                    : r.getResource() instanceof AclRuleGroupResource g ? "group " + g.getPatternType().toValue() + " "
                            + g.getName()
                    : r.getResource() instanceof AclRuleTransactionalIdResource x ? "transactionalId "
                            + x.getPatternType().toValue() + " " + x.getName()
                    : r.getResource() instanceof AclRuleClusterResource ? "cluster literal kafka-cluster" : "?";
            r.getOperations().forEach(o -> out.add(res + " " + o.toValue().toUpperCase(Locale.ROOT)));
        }
        return out;
    }

    static Set<String> rules(AclSet set) {
        Set<String> out = new TreeSet<>();
        for (dev.gblm.teams.AclRule r : set.rules()) {
            String res = switch (r.resource()) {
                case TOPIC -> "topic";
                case GROUP -> "group";
                case TRANSACTIONAL_ID -> "transactionalId";
                case CLUSTER -> "cluster";
            } + " " + (r.match() == dev.gblm.teams.AclRule.Match.PREFIXED ? "prefix" : "literal") + " " + r.name();
            r.operations().forEach(o -> out.add(res + " " + o.name().replace("_", "")));
        }
        return out;
    }
}
