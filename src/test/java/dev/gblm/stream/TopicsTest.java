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
}
