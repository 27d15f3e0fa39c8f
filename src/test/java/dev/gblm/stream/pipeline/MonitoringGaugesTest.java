package dev.gblm.stream.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.stream.exporter.EpochExports;
import dev.gblm.testing.StreamTestSupport;
import io.micrometer.core.instrument.Gauge;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exporter's per-job last-export gauges survive a restart: they are read back from OUT at start-up. */
class MonitoringGaugesTest {
    @Test
    void lastExportGaugesAreSeededFromCompleteExports(@TempDir Path out) throws Exception {
        Path a1 = Files.createDirectories(out.resolve("job-a/epoch-1"));
        Files.writeString(a1.resolve("_COMPLETE.json"), "{}");
        Files.writeString(a1.resolve("report.json"), "{\"timestamps\":{\"exported\":1700000000123}}");
        Files.createDirectories(out.resolve("job-a/epoch-2")); // no _COMPLETE.json: not exported
        Files.createDirectories(out.resolve("job-b/epoch-1")); // nothing complete: no gauge
        try (GblmMetrics m = new GblmMetrics("exporter")) {
            EpochExports exports = new EpochExports(out, Checkpoints.load(StreamTestSupport.TINY), null, m.meters());
            exports.removeLeftovers();
            Gauge epoch = m.meters().find("gblm.exporter.job.last.epoch").tag(GblmMetrics.JOB_TAG, "job-a").gauge();
            Gauge at = m.meters().find("gblm.exporter.job.last.export.timestamp").tag(GblmMetrics.JOB_TAG, "job-a").gauge();
            assertThat(epoch).isNotNull();
            assertThat(epoch.value()).isEqualTo(1.0);
            assertThat(at.value()).isEqualTo(1700000000.123);
            assertThat(m.meters().find("gblm.exporter.job.last.epoch").tag(GblmMetrics.JOB_TAG, "job-b").gauge()).isNull();
            assertThat(m.registry().scrape())
                    .contains("gblm_exporter_job_last_export_timestamp_seconds{component=\"exporter\",gblm_job=\"job-a\"} 1.700000000123E9");
        }
    }
}
