package dev.gblm.stream.finalizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.Health;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.testing.InMemoryWeights;
import java.nio.file.Path;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The finalizer's health: the Kafka Streams state and the recent stream-thread failures, on an explicit clock. */
class FinalizerHealthTest {
    static final long T0 = 1_000_000_000L;

    @Test
    void downWhileStreamThreadsKeepFailingEvenThoughTheStateIsRunning() {
        // invariant: a replaced thread leaves the state RUNNING; repeated failures within the window still make it DOWN,
        // with the count and the last exception, and it is UP again once they age out of the window
        ThreadFailures f = new ThreadFailures();
        assertThat(f.health(KafkaStreams.State.RUNNING, T0)).isEqualTo(Health.up("RUNNING"));

        f.record(new IllegalStateException("first"), T0);
        Health one = f.health(KafkaStreams.State.RUNNING, T0 + 1);
        assertThat(one.up()).isTrue();
        assertThat(one.detail()).contains("1 stream-thread failure ").contains("first");

        for (int i = 1; i < ThreadFailures.DOWN_AT; i++) {
            f.record(new IllegalArgumentException("again\nsecond line"), T0 + i * 1000L);
        }
        Health failing = f.health(KafkaStreams.State.RUNNING, T0 + 5000);
        assertThat(failing.up()).isFalse();
        assertThat(failing.detail()).contains("RUNNING", "keep failing", ThreadFailures.DOWN_AT + " stream-thread failures",
                "java.lang.IllegalArgumentException: again").doesNotContain("second line");
        assertThat(f.health(KafkaStreams.State.REBALANCING, T0 + 5000).up()).isFalse();

        long later = T0 + ThreadFailures.WINDOW.toMillis() + ThreadFailures.DOWN_AT * 1000L;
        assertThat(f.health(KafkaStreams.State.RUNNING, later)).isEqualTo(Health.up("RUNNING"));
        assertThat(f.total()).isEqualTo(ThreadFailures.DOWN_AT);
    }

    @Test
    void downWhenNotRunningWhateverTheFailures() {
        ThreadFailures f = new ThreadFailures();
        assertThat(f.health(KafkaStreams.State.REBALANCING, T0).up()).isTrue();
        assertThat(f.health(KafkaStreams.State.ERROR, T0)).isEqualTo(Health.down("ERROR"));
        assertThat(f.health(KafkaStreams.State.PENDING_SHUTDOWN, T0).up()).isFalse();
        assertThat(f.health(null, T0)).isEqualTo(Health.down("stopped"));
    }

    @Test
    void theUncaughtExceptionHandlerCountsReplacesAndReports(@TempDir Path tmp) {
        // invariant: every stream-thread failure increments gblm.finalizer.thread.failures, is remembered for health, and
        // the thread is replaced
        try (GblmMetrics metrics = new GblmMetrics("finalizer")) {
            Finalizer f = new Finalizer(FinalizerSettings.builder(KafkaSettings.of("dummy:9092"), tmp, "fp").build(),
                    InMemoryWeights.randomLlama(1, 8, 16, 1), metrics);
            for (int i = 0; i < 3; i++) {
                assertThat(f.onStreamThreadFailure(new IllegalStateException("poison " + i)))
                        .isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
            }
            assertThat(metrics.registry().get("gblm.finalizer.thread.failures").counter().count()).isEqualTo(3);
            assertThat(metrics.health().get("finalizer")).satisfies(h -> {
                assertThat(h.up()).isFalse();
                assertThat(h.detail()).contains("3 stream-thread failures", "poison 2");
            });
        }
    }
}
