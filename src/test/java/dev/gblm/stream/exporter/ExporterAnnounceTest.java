package dev.gblm.stream.exporter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.ModelReady;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The exporter's announcement decision: one model-ready event per job/epoch, ever (no Kafka). */
class ExporterAnnounceTest {
    @Test
    void announcesOnlyEpochsWithoutAnEventAndEachOnce() {
        List<ModelReady> ready = List.of(ready("a", 1, true), ready("b", 1, false), ready("a", 2, true),
                ready("a", 1, false));
        Set<String> announced = new HashSet<>(Set.of("b/1"));
        List<ModelReady> out = Exporter.toAnnounce(ready, announced);
        assertThat(out).extracting(m -> m.job() + "/" + m.epoch()).containsExactly("a/1", "a/2");
        assertThat(out.get(0).written()).as("the first copy").isTrue();
        assertThat(announced).as("the caller's set is not changed").containsExactly("b/1");
    }

    @Test
    void aReplayOfAnnouncedEpochsAnnouncesNothing() {
        List<ModelReady> ready = List.of(ready("a", 1, false), ready("b", 3, false));
        assertThat(Exporter.toAnnounce(ready, Set.of("a/1", "b/3"))).isEmpty();
        assertThat(Exporter.toAnnounce(ready, Set.of("a/1", "b/2"))).extracting(ModelReady::epoch).containsExactly(3);
    }

    private static ModelReady ready(String job, int epoch, boolean written) {
        return new ModelReady(job, epoch, "/out/" + job + "/epoch-" + epoch, 128, 1000, 0.5, List.of("s"), 4,
                "0123456789abcdef", null, 1, 2, 3, 0.1, written);
    }
}
