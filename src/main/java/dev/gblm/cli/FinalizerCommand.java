package dev.gblm.cli;

import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.MetricsServer;
import dev.gblm.stream.finalizer.CheckpointWeights;
import dev.gblm.stream.finalizer.Finalizer;
import dev.gblm.stream.finalizer.FinalizerSettings;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm finalizer}: the Kafka Streams finalizer, until interrupted. */
@Command(name = "finalizer", mixinStandardHelpOptions = true,
        description = "Runs the finalizer (Kafka Streams, exactly_once_v2): plans epochs from slices and jobs, emits mask blocks to gblm.masks.")
final class FinalizerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "dense model (for its fingerprint and weights): HF directory, llama2.c .bin, or a directory holding one")
    Path model;
    @Option(names = "--state-dir", defaultValue = "gblm-finalizer-state", paramLabel = "DIR",
            description = "Kafka Streams state directory (default ${DEFAULT-VALUE})")
    Path stateDir;
    @Option(names = "--application-id", defaultValue = FinalizerSettings.DEFAULT_APPLICATION_ID,
            description = "Kafka Streams application id (default ${DEFAULT-VALUE})")
    String applicationId;
    @Option(names = "--internal-replication-factor", defaultValue = "0", paramLabel = "N",
            description = "replication factor of the finalizer's changelog topics; 0 = that of gblm.stats in the topic definitions"
                    + " (default); capped by the number of brokers")
    int internalReplicationFactor;
    @Mixin
    KafkaOptions.Metrics metricsEndpoint = new KafkaOptions.Metrics();

    @Override
    public Integer call() throws InterruptedException {
        CheckpointWeights weights = ProfileFromModel.weights(model);
        String fingerprint = weights.checkpoint().fingerprint();
        FinalizerSettings settings = FinalizerSettings.builder(kafka.settings(), stateDir, fingerprint)
                .applicationId(applicationId).internalReplicationFactor(internalReplicationFactor).build();
        CountDownLatch stop = new CountDownLatch(1);
        try (GblmMetrics metrics = new GblmMetrics("finalizer");
                MetricsServer server = metricsEndpoint.serve(metrics);
                Finalizer f = new Finalizer(settings, weights, metrics)) {
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown, "gblm-finalizer-stop"));
            f.start();
            spec.commandLine().getErr().println("finalizer running" + (server != null ? "; metrics: " + server.url() + "/metrics" : ""));
            stop.await();
        }
        return 0;
    }
}
