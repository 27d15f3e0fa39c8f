package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.MetricsServer;
import dev.gblm.stream.exporter.Exporter;
import dev.gblm.stream.exporter.ExporterSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm exporter}: writes every finalized epoch as a pruned checkpoint, until interrupted. */
@Command(name = "exporter", mixinStandardHelpOptions = true,
        description = "Collects the mask blocks of each epoch from gblm.masks and writes OUT/<job>/epoch-<n>/ (checkpoint, "
                + "masks.bin, report.json) atomically, then emits a gblm.models event.")
final class ExporterCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "dense model the masks apply to: HF directory, llama2.c .bin, or a directory holding one")
    Path model;
    @Option(names = "--tokenizer", paramLabel = "PATH", description = "tokenizer copied into the outputs (default: the model's)")
    Path tokenizer;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory; exports go to DIR/<job>/epoch-<n>/ "
            + "(a team's: DIR/teams/<team>/<job>/epoch-<n>/), with DIR/<job>/latest a link to the newest complete epoch")
    Path out;
    @Option(names = "--keep", defaultValue = "0", paramLabel = "K",
            description = "keep the newest K complete epochs per job, deleting older ones once a newer one is announced (default ${DEFAULT-VALUE} = all)")
    int keep;
    @Option(names = "--group", defaultValue = ExporterSettings.DEFAULT_GROUP, description = "consumer group, one exporter per group (default ${DEFAULT-VALUE})")
    String group;
    @Option(names = "--holdout-max-samples", defaultValue = "64", paramLabel = "N", description = "jobs with hold-out: "
            + "held-out samples each epoch's perplexity is measured on (the first N; default ${DEFAULT-VALUE})")
    int holdoutMaxSamples;
    @Mixin
    KafkaOptions.Metrics metricsEndpoint = new KafkaOptions.Metrics();

    @Override
    public Integer call() throws InterruptedException {
        CountDownLatch stop = new CountDownLatch(1);
        try (GblmMetrics metrics = new GblmMetrics("exporter");
                MetricsServer server = metricsEndpoint.serve(metrics);
                Exporter e = new Exporter(ExporterSettings.builder(kafka.settings(), out).groupId(group).tokenizer(tokenizer).keep(keep)
                        .holdoutMaxSamples(holdoutMaxSamples).build(),
                        Checkpoints.load(model), metrics)) {
            e.onModelReady(m -> spec.commandLine().getErr().println("exported " + m.job() + " epoch " + m.epoch() + " -> " + m.path()
                    + (m.written() ? "" : " (already there)")));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                e.stop();
                stop.countDown();
            }, "gblm-exporter-stop"));
            e.start();
            spec.commandLine().getErr().println("exporter running -> " + out + (server != null ? "; metrics: " + server.url() + "/metrics" : ""));
            while (stop.getCount() > 0 && (e.isRunning() || e.failure() == null)) {
                if (stop.await(200, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                    break;
                }
                if (e.failure() != null) {
                    throw new GblmException("exporter stopped: " + e.failure());
                }
            }
        }
        return 0;
    }
}
