package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import io.micrometer.core.instrument.Counter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/** The HTTP endpoint without Kafka: scrape format, health aggregation, bind errors. */
class MetricsServerTest {

    @Test
    void servesPrometheusTextAndAggregatesHealth() throws Exception {
        try (GblmMetrics metrics = new GblmMetrics("test");
                MetricsServer server = new MetricsServer(metrics, 0).start()) {
            Counter.builder("gblm.test.events").tag("kind", "a").register(metrics.meters()).increment(4);
            metrics.healthCheck("ok", () -> Health.up("fine"));
            metrics.healthCheck("broken", () -> {
                throw new IllegalStateException("boom");
            });
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(m.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/plain"));
            assertThat(KafkaIntegrationTest.sample(m.body(), "gblm_test_events_total", "kind=\"a\"")).isEqualTo(4.0);
            assertThat(m.body()).contains("component=\"test\"");

            HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(h.statusCode()).isEqualTo(503);
            assertThat(h.body()).contains("\"status\":\"DOWN\"", "IllegalStateException: boom", "\"ok\":{\"status\":\"UP\"");

            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/metrics"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
        }
    }

    @Test
    void onlyTheExactPathsAreEndpointsAndAnyHostCanBeBound() throws Exception {
        try (GblmMetrics metrics = new GblmMetrics("test");
                MetricsServer server = new MetricsServer(metrics, "0.0.0.0", 0).start()) {
            metrics.healthCheck("ok", () -> Health.up("fine"));
            HttpClient http = HttpClient.newHttpClient();
            assertThat(server.url()).startsWith("http://127.0.0.1:");
            for (String path : new String[] {"/healthz", "/health/x", "/metricsfoo", "/"}) {
                assertThat(http.send(HttpRequest.newBuilder(URI.create(server.url() + path)).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode()).as(path).isEqualTo(404);
            }
            assertThat(http.send(HttpRequest.newBuilder(URI.create(server.url() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aPortInUseIsAClearError() {
        try (GblmMetrics metrics = new GblmMetrics("test");
                MetricsServer first = new MetricsServer(metrics, 0).start()) {
            assertThatThrownBy(() -> new MetricsServer(metrics, first.port()).start())
                    .isInstanceOf(GblmException.class)
                    .hasMessageContaining("cannot serve metrics on 127.0.0.1:" + first.port());
        }
    }
}
