package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * deploy/prometheus and deploy/grafana are valid: {@code promtool} accepts the configuration and the alert rules,
 * the rules' unit tests pass and make every alert both fire and stay silent, and the dashboard's panels each hold one
 * query. The promtool checks are skipped when {@code /usr/bin/promtool} is absent (Debian package
 * {@code prometheus}); the rest always runs.
 */
class MonitoringRulesTest {
    static final Path PROMTOOL = Path.of("/usr/bin/promtool");
    static final Path DIR = Path.of("deploy/prometheus");

    @Test
    void promtoolAcceptsConfigRulesAndRuleTests() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PROMTOOL), PROMTOOL + " not installed (apt-get install prometheus)");
        promtool("check", "rules", "alerts.yml");
        promtool("test", "rules", "alerts_test.yml");
        promtool("check", "config", "prometheus.yml");
    }

    @Test
    void everyAlertIsTestedFiringAndNotFiring() throws IOException {
        Set<String> alerts = new LinkedHashSet<>();
        Matcher m = Pattern.compile("(?m)^\\s*- alert:\\s*(\\S+)\\s*$").matcher(Files.readString(DIR.resolve("alerts.yml")));
        while (m.find()) {
            alerts.add(m.group(1));
        }
        assertThat(alerts).contains("GblmWorkerStalled", "GblmDlqRateHigh", "GblmEpochOverdue", "GblmConsumerLagHigh",
                "GblmExportFailing");
        // each "- eval_time:" block of alerts_test.yml: its alertname and whether exp_alerts is empty
        Set<String> firing = new LinkedHashSet<>();
        Set<String> silent = new LinkedHashSet<>();
        String[] blocks = Files.readString(DIR.resolve("alerts_test.yml")).split("(?m)^\\s*- eval_time:");
        for (int i = 1; i < blocks.length; i++) {
            Matcher name = Pattern.compile("(?m)^\\s*alertname:\\s*(\\S+)\\s*$").matcher(blocks[i]);
            assertThat(name.find()).as("alertname in eval block " + i).isTrue();
            Matcher exp = Pattern.compile("(?m)^\\s*exp_alerts:(.*)$").matcher(blocks[i]);
            assertThat(exp.find()).as("exp_alerts in eval block " + i).isTrue();
            (exp.group(1).trim().equals("[]") ? silent : firing).add(name.group(1));
        }
        assertThat(firing).as("alerts tested firing").containsAll(alerts);
        assertThat(silent).as("alerts tested not firing").containsAll(alerts);
        assertThat(alerts).as("tests name only existing alerts").containsAll(firing).containsAll(silent);
    }

    @Test
    void dashboardPanelsHaveOneQueryAndUseNoTargetLabelsOfGblm() throws IOException {
        JsonNode d = new ObjectMapper().readTree(Path.of("deploy/grafana/dashboards/gblm.json").toFile());
        List<String> exprs = new ArrayList<>();
        for (JsonNode p : d.path("panels")) {
            assertThat(p.path("targets").size()).as(p.path("title").asText()).isEqualTo(1);
            exprs.add(p.path("targets").get(0).path("expr").asText());
        }
        assertThat(exprs).hasSizeGreaterThanOrEqualTo(12).allMatch(e -> !e.isBlank());
        assertThat(String.join("\n", exprs)).contains("gblm_job").doesNotContain("job=\"", "exported_job");
        assertThat(Files.readString(Path.of("deploy/grafana/provisioning/datasources/prometheus.yml")))
                .contains("uid: " + d.path("panels").get(0).path("datasource").path("uid").asText());
    }

    @Test
    void gblmMetersRefuseTargetLabelsAndTimersAreHistograms() {
        try (GblmMetrics m = new GblmMetrics("test")) {
            assertThatThrownBy(() -> Counter.builder("gblm.test.c").tag("job", "x").register(m.meters()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(GblmMetrics.JOB_TAG);
            assertThatThrownBy(() -> Counter.builder("gblm.test.d").tag("instance", "x").register(m.meters()))
                    .isInstanceOf(IllegalArgumentException.class);
            Counter.builder("gblm.test.e").tag(GblmMetrics.JOB_TAG, "x").register(m.meters()).increment();
            Timer.builder("gblm.test.t").serviceLevelObjectives(GblmMetrics.buckets(GblmMetrics.SAMPLE_BUCKETS))
                    .register(m.meters()).record(Duration.ofMillis(3));
            String scrape = m.registry().scrape();
            assertThat(scrape).contains("gblm_test_e_total{component=\"test\",gblm_job=\"x\"} 1.0",
                    "gblm_test_t_seconds_bucket{component=\"test\",le=\"0.005\"} 1", "le=\"+Inf\"");
        }
    }

    private static void promtool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PROMTOOL.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(DIR.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("promtool finished").isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + new String(out, StandardCharsets.UTF_8)).isZero();
    }
}
