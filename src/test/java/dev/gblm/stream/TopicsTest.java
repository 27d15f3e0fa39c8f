package dev.gblm.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicSpec;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The topic registry and the topic definitions (topics/) name exactly the same topics. */
class TopicsTest {
    @Test
    void registryAndDefinitionsAgree() {
        assertThat(Topics.all()).extracting(Topics.Topic::name)
                .containsExactlyInAnyOrderElementsOf(TopicCatalog.load(Path.of("topics")).all().stream()
                        .map(TopicSpec::name).toList());
    }

    @Test
    void calibrationTopicsMapToStreamsAndBack() {
        assertThat(Topics.calibrationTopic("team-a.v2")).isEqualTo("calib.team-a.v2");
        assertThat(Topics.streamOf("calib.team-a.v2")).isEqualTo("team-a.v2");
        assertThat(Topics.CALIBRATION_TOPICS.matcher("calib.x").matches()).isTrue();
        assertThat(Topics.CALIBRATION_TOPICS.matcher("calib.").matches()).isFalse();
        assertThat(Topics.CALIBRATION_TOPICS.matcher("gblm.stats").matches()).isFalse();
        assertThatThrownBy(() -> Topics.calibrationTopic("bad name")).isInstanceOf(GblmException.class)
                .hasMessageContaining("invalid stream name 'bad name'");
        assertThatThrownBy(() -> Topics.streamOf("gblm.stats")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void teamsNameTheirJobTopicAndPrefixTheirStreams() {
        assertThat(Topics.teamJobsTopic("team-a")).isEqualTo("gblm.jobs.team-a");
        assertThat(Topics.teamOfJobsTopic("gblm.jobs.team-a")).isEqualTo("team-a");
        assertThat(Topics.teamOfJobsTopic("gblm.jobs")).isNull();
        assertThat(Topics.teamOfJobsTopic("gblm.jobs.A")).isNull();
        assertThat(Topics.teamOfStream("team-a.wiki")).isEqualTo("team-a");
        assertThat(Topics.teamOfStream("wiki")).isNull();
        assertThat(Topics.teamOfStream(".wiki")).isNull();
        for (String bad : new String[] {"", "A", "a.b", "-a", "a_b", "a".repeat(33)}) {
            assertThatThrownBy(() -> Topics.teamJobsTopic(bad)).as(bad).isInstanceOf(GblmException.class)
                    .hasMessageContaining("invalid team name");
        }
    }

    @Test
    void aTeamJobIdStartsWithItsTeam() {
        JobSpec.requireOwnId("a.j1", "a");
        JobSpec.requireOwnId("teams-x", null);
        assertThatThrownBy(() -> JobSpec.requireOwnId("b.j1", "a")).isInstanceOf(GblmException.class)
                .hasMessage("job id 'b.j1' of team a must start with 'a.'");
        assertThatThrownBy(() -> JobSpec.requireOwnId("teams", null)).isInstanceOf(GblmException.class)
                .hasMessageContaining("reserved");
    }
}
