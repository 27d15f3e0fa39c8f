package dev.gblm.stream.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.stream.HoldOut;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.testing.StreamTestSupport;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Grafana dashboard is fed by real metrics: a {@code gblm run}-equivalent {@link Pipeline} (tiny model, embedded
 * broker) exports an epoch while a real Prometheus (child process, scrape interval 1 s, the alert rules of
 * deploy/prometheus/alerts.yml loaded) scrapes its {@code /metrics}; then every panel query of
 * deploy/grafana/dashboards/gblm.json must return data through Prometheus's HTTP API, and every alert rule must
 * evaluate without error on those series. Skipped when {@code /usr/bin/prometheus} is absent (CI installs the Debian
 * package {@code prometheus}).
 */
class MonitoringIntegrationTest {
    static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    static final Path DASHBOARD = Path.of("deploy/grafana/dashboards/gblm.json");
    /** Workers and the job hold out a quarter of the records, so the held-out perplexity panel has data. */
    static final double HOLDOUT = 0.25;
    static final Path ALERTS = Path.of("deploy/prometheus/alerts.yml");
    /** Grafana's interval variables, replaced by a range that spans the whole test run. */
    static final Map<String, String> GRAFANA_VARIABLES = Map.of("$__rate_interval", "5m", "${__rate_interval}", "5m",
            "$__interval", "5m", "${__interval}", "5m", "$__range", "5m", "${__range}", "5m");
    static final ObjectMapper JSON = new ObjectMapper();

    /** One panel's title and its single query, in dashboard order (rows' nested panels included). */
    record PanelQuery(String title, String expr) {}

    static List<PanelQuery> panelQueries(JsonNode dashboard, List<String> panelsWithoutOneQuery) {
        List<PanelQuery> out = new ArrayList<>();
        collect(dashboard.path("panels"), out, panelsWithoutOneQuery);
        return out;
    }

    private static void collect(JsonNode panels, List<PanelQuery> out, List<String> bad) {
        for (JsonNode p : panels) {
            if (p.path("type").asText().equals("row")) {
                collect(p.path("panels"), out, bad);
                continue;
            }
            JsonNode targets = p.path("targets");
            if (targets.size() != 1 || targets.get(0).path("expr").asText().isBlank()) {
                bad.add(p.path("title").asText() + " (" + targets.size() + " targets)");
                continue;
            }
            String expr = targets.get(0).path("expr").asText();
            for (Map.Entry<String, String> v : GRAFANA_VARIABLES.entrySet()) {
                expr = expr.replace(v.getKey(), v.getValue());
            }
            out.add(new PanelQuery(p.path("title").asText(), expr));
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void everyDashboardPanelHasDataFromARealRun(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PROMETHEUS), PROMETHEUS + " not installed (apt-get install prometheus)");
        JsonNode dashboard = JSON.readTree(DASHBOARD.toFile());
        List<String> malformed = new ArrayList<>();
        List<PanelQuery> queries = panelQueries(dashboard, malformed);
        assertThat(malformed).as("panels without exactly one query").isEmpty();
        int panelCount = countPanels(dashboard.path("panels"));
        assertThat(queries).as("one evaluated query per panel").hasSize(panelCount);

        Checkpoint tiny = Checkpoints.load(StreamTestSupport.TINY);
        Path out = tmp.resolve("out");
        Files.createDirectories(out);
        String stream = "mon";
        String topic = Topics.calibrationTopic(stream);
        EmbeddedKafka kafka = EmbeddedKafka.builder().build().start();
        Process prometheus = null;
        try {
            PipelineSettings settings = PipelineSettings.builder(StreamTestSupport.TINY, out).kafka(kafka.clientSettings())
                    .metricsPort(0).workers(1).samplesPerSlice(6).maxSliceAge(Duration.ofSeconds(1)).instance("mon")
                    .progress(null).holdout(HOLDOUT).build();
            try (Pipeline p = new Pipeline(settings).start()) {
                URI target = URI.create(p.metricsServer().url());
                int port = freePort();
                prometheus = startPrometheus(tmp.resolve("prometheus"), target.getHost() + ":" + target.getPort(), port);
                String api = "http://127.0.0.1:" + port;
                HttpClient http = HttpClient.newHttpClient();
                awaitReady(http, api, prometheus);
                // the samples flow only after Prometheus has the pipeline's counters at their starting values, so
                // every rate and histogram panel sees them change however fast the run is
                poll(Duration.ofSeconds(60), () -> !result(http, api, "up == 1").isEmpty());

                try (TopicAdmin admin = TopicAdmin.connect(p.kafka())) {
                    admin.ensure(TopicCatalog.fromClasspath().calibrationTopic(stream));
                }
                List<int[]> docs = StreamTestSupport.randomDocs(24, tiny.config().vocabSize(), 20, 11);
                int kept = 0;
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Ingestor.producerProperties(p.kafka()))) {
                    // a reject, under a key the hold-out rule keeps in (a held-out record is never decoded)
                    SampleRecord reject = SampleRecord.ofTokens("reject-1", new int[] {1, 2, 100_000, 3});
                    assertThat(HoldOut.isHeldOut(topic, reject.key(), HOLDOUT)).isFalse();
                    producer.send(sample(topic, reject));
                    for (int i = 0; i < docs.size(); i++) {
                        SampleRecord s = SampleRecord.ofTokens("doc-" + i, docs.get(i));
                        kept += HoldOut.isHeldOut(topic, s.key(), HOLDOUT) ? 0 : 1;
                        producer.send(sample(topic, s));
                    }
                    producer.flush();
                }
                assertThat(kept).isBetween(1, docs.size() - 1);
                // the job waits for every kept sample; the held-out ones feed the held-out perplexity panel
                p.submit(new JobSpec("mon-wanda", "0000000000000000", List.of(stream), "wanda", 0.5, "unstructured", null,
                        null, kept, 0, 0, null, null, null, HOLDOUT));
                assertThat(p.awaitFirstEpochs(Duration.ofMinutes(3))).as("the job's epoch is exported").isTrue();

                // Prometheus has scraped the export (and a few scrapes after it, so rates have two points)
                poll(Duration.ofSeconds(60), () -> !result(http, api, "gblm_exporter_job_last_epoch >= 1").isEmpty());
                Thread.sleep(3000);

                // every panel returns data; retried for a bounded time (gauges of the planner follow its rounds)
                Map<String, String> failures = new LinkedHashMap<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                int evaluated;
                do {
                    failures.clear();
                    evaluated = 0;
                    for (PanelQuery q : queries) {
                        evaluated++;
                        JsonNode r = result(http, api, q.expr());
                        if (r.isEmpty()) {
                            failures.put(q.title(), "no data: " + q.expr());
                        } else if (allNaN(r)) {
                            failures.put(q.title(), "only NaN: " + q.expr() + " -> " + r);
                        }
                    }
                    if (!failures.isEmpty()) {
                        Thread.sleep(2000);
                    }
                } while (!failures.isEmpty() && System.nanoTime() < deadline);
                String scrape = http.send(HttpRequest.newBuilder(target.resolve("/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                Path dump = Path.of("target/monitoring");
                Files.createDirectories(dump);
                Files.writeString(dump.resolve("metrics.txt"), scrape);
                assertThat(failures).as("dashboard panels without data (scrape in target/monitoring/metrics.txt)").isEmpty();
                assertThat(evaluated).as("queries evaluated = panels").isEqualTo(panelCount);

                // no gblm series carries a Prometheus target label of its own
                for (String line : scrape.lines().filter(l -> l.startsWith("gblm_")).toList()) {
                    assertThat(line).as("gblm series with a reserved label").doesNotContain("{job=", ",job=",
                            "{instance=", ",instance=");
                }
                assertThat(scrape).contains("gblm_exporter_sparsity{", "gblm_job=\"mon-wanda\"",
                        "gblm_worker_sample_seconds_bucket{", "gblm_worker_slice_flush_seconds_bucket{",
                        "gblm_exporter_end_to_end_latency_seconds_bucket{", "gblm_exporter_export_time_seconds_bucket{",
                        "gblm_finalizer_job_min_samples{component=\"run\",gblm_job=\"mon-wanda\"} " + kept + ".0",
                        "gblm_finalizer_job_epoch{component=\"run\",gblm_job=\"mon-wanda\"} 1.0",
                        "gblm_exporter_job_last_epoch{component=\"run\",gblm_job=\"mon-wanda\"} 1.0");

                // the alert rules load and evaluate on the real series without error
                poll(Duration.ofSeconds(30), () -> rules(http, api).size() > 0
                        && rules(http, api).stream().allMatch(r -> r.path("lastEvaluation").asText().compareTo("2000") > 0));
                List<JsonNode> rules = rules(http, api);
                List<String> names = new ArrayList<>();
                for (JsonNode r : rules) {
                    names.add(r.path("name").asText());
                    assertThat(r.path("health").asText()).as("rule " + r.path("name").asText() + ": " + r.path("lastError"))
                            .isEqualTo("ok");
                }
                assertThat(names).contains("GblmWorkerStalled", "GblmDlqRateHigh", "GblmEpochOverdue",
                        "GblmConsumerLagHigh", "GblmExportFailing");
            }
        } finally {
            if (prometheus != null) {
                prometheus.destroy();
                if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
                    prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
            kafka.stop();
        }
    }

    static int countPanels(JsonNode panels) {
        int n = 0;
        for (JsonNode p : panels) {
            n += p.path("type").asText().equals("row") ? countPanels(p.path("panels")) : 1;
        }
        return n;
    }

    private static Process startPrometheus(Path dir, String target, int port) throws IOException {
        Files.createDirectories(dir.resolve("data"));
        String config = """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                rule_files:
                  - %s
                scrape_configs:
                  - job_name: gblm-run
                    static_configs:
                      - targets: ["%s"]
                """.formatted(ALERTS.toAbsolutePath(), target);
        Files.writeString(dir.resolve("prometheus.yml"), config);
        ProcessBuilder pb = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + dir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port,
                "--storage.tsdb.retention.time=1h")
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile());
        return pb.start();
    }

    private static void awaitReady(HttpClient http, String api, Process prometheus) throws Exception {
        poll(Duration.ofSeconds(60), () -> {
            assertThat(prometheus.isAlive()).as("prometheus running").isTrue();
            try {
                return http.send(HttpRequest.newBuilder(URI.create(api + "/-/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            }
        });
    }

    /** The {@code data.result} of an instant query (fails on an API error, e.g. a query that does not parse). */
    static JsonNode result(HttpClient http, String api, String expr) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(api + "/api/v1/query?query="
                + URLEncoder.encode(expr, StandardCharsets.UTF_8))).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.path("status").asText()).as(expr + ": " + r.body()).isEqualTo("success");
        JsonNode res = body.path("data").path("result");
        return body.path("data").path("resultType").asText().equals("scalar") ? JSON.createArrayNode().add(res) : res;
    }

    private static boolean allNaN(JsonNode result) {
        for (JsonNode s : result) {
            JsonNode value = s.isArray() ? s : s.path("value");
            if (!value.path(1).asText().equals("NaN")) {
                return false;
            }
        }
        return true;
    }

    private static List<JsonNode> rules(HttpClient http, String api) throws Exception {
        JsonNode body = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(api + "/api/v1/rules")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode g : body.path("data").path("groups")) {
            g.path("rules").forEach(out::add);
        }
        return out;
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static void poll(Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within " + timeout);
            }
            Thread.sleep(500);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static ProducerRecord<byte[], byte[]> sample(String topic, SampleRecord s) {
        return new ProducerRecord<>(topic, 0, s.key(), s.value(),
                List.of(new RecordHeader(Topics.HEADER_FORMAT, s.format().getBytes(StandardCharsets.UTF_8))));
    }
}
