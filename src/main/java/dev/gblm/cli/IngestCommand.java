package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.Health;
import dev.gblm.ops.MetricsServer;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.ingest.IngestSummary;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.ingest.TopicKeys;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gblm ingest}: publish calibration documents to {@code calib.<stream>}. Idempotent: documents whose
 * (content-derived) key the topic already holds are not published again, unless {@code --force}.
 */
@Command(name = "ingest", mixinStandardHelpOptions = true,
        description = "Publishes calibration documents to the topic calib.<stream> (created from the calib.* template"
                + " if missing) with an idempotent producer. Documents already in the topic (same key) are not"
                + " published again, so re-running an ingest adds nothing.")
final class IngestCommand implements Callable<Integer> {
    /** Longest the check for keys already in the topic may take. */
    private static final Duration KEY_READ_TIMEOUT = Duration.ofMinutes(5);

    @Spec
    CommandSpec spec;

    @Option(names = "--stream", required = true, paramLabel = "NAME",
            description = "calibration stream (topic calib.NAME); letters, digits, '.', '_', '-'")
    String stream;

    @Option(names = "--file", paramLabel = "FILE", description = "input file (default: standard input)")
    Path file;

    @Option(names = "--format", completionCandidates = Choices.DocumentFormats.class,
            description = "${COMPLETION-CANDIDATES}; text: documents separated by blank lines; jsonl: one object with a"
                    + " 'text' field per line"
                    + " (default: jsonl for *.jsonl files, else text)")
    String format;

    @Option(names = "--force",
            description = "publish every document, even those whose key the topic already holds (they are then"
                    + " counted twice by the workers)")
    boolean force;

    @Mixin
    KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

    @Mixin
    TopicsCommand.CatalogOption topics = new TopicsCommand.CatalogOption();

    @Mixin
    KafkaOptions.Metrics metricsEndpoint = new KafkaOptions.Metrics();

    @Override
    public Integer call() throws IOException {
        String topic = Topics.calibrationTopic(stream);
        DocumentReader.Format fmt = format != null ? DocumentReader.Format.parse(format)
                : file != null && file.toString().endsWith(".jsonl") ? DocumentReader.Format.JSONL
                : DocumentReader.Format.TEXT;
        if (file != null && !file.toString().equals("-") && !Files.isRegularFile(file)) {
            throw new GblmException("input file not found: " + file);
        }
        TopicCatalog catalog = topics.catalog();
        try (TopicAdmin admin = TopicAdmin.connect(kafka.settings())) {
            TopicReport r = admin.ensure(catalog.calibrationTopic(stream));
            if (r.status() == TopicReport.Status.MISMATCH) {
                // the topic works, it is just not as defined: tell the operator, do not refuse to ingest
                spec.commandLine().getErr().println("warning: " + r.describe());
            } else if (r.status() == TopicReport.Status.CREATED) {
                spec.commandLine().getErr().println(r.describe());
            }
        }
        try (GblmMetrics metrics = new GblmMetrics("ingest");
                Producer<byte[], byte[]> producer = new KafkaProducer<>(Ingestor.producerProperties(kafka.settings()));
                MetricsServer server = metricsEndpoint.serve(metrics);
                InputStream in = open()) {
            metrics.bind(producer);
            metrics.healthCheck("ingest", () -> Health.up("publishing to " + topic));
            if (server != null) {
                spec.commandLine().getErr().println("metrics: " + server.url() + "/metrics");
            }
            TopicKeys present = null;
            if (!force) {
                present = TopicKeys.read(kafka.settings(), topic, KEY_READ_TIMEOUT);
                if (present.size() > 0) {
                    spec.commandLine().getErr().println(topic + " already holds " + present.size() + " document key(s);"
                            + " documents with those keys are not published again (--force publishes them)");
                }
            }
            Ingestor ingestor = new Ingestor(producer, stream, metrics.meters(), System.err, present);
            IngestSummary summary = ingestor.ingest(in, fmt);
            spec.commandLine().getOut().println(summary.describe());
            spec.commandLine().getOut().flush();
            if (summary.failed() > 0) {
                throw new GblmException(summary.failed() + " document(s) were not accepted by Kafka");
            }
            if (summary.documents() == 0 && summary.alreadyPresent() == 0) {
                throw new GblmException("no usable document in the input");
            }
            return 0;
        }
    }

    private InputStream open() throws IOException {
        if (file == null || file.toString().equals("-")) {
            return new java.io.FilterInputStream(System.in) {
                @Override
                public void close() {
                    // never close the process's stdin
                }
            };
        }
        try {
            return Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new GblmException("input file not found: " + file);
        }
    }
}
