package dev.gblm.cli;

import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm broker}: a standalone embedded single-node Kafka, until Ctrl-C. */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Runs a real single-node KRaft Kafka broker on 127.0.0.1 (child JVM) with gblm's topics,"
                + " prints its bootstrap address and runs until interrupted.")
final class BrokerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "keep the broker's data here between runs (default: a temporary folder deleted on exit)")
    Path dataDir;

    @Option(names = "--port", defaultValue = "0", description = "client port on 127.0.0.1; 0 = any free port (default: ${DEFAULT-VALUE})")
    int port;

    @Mixin
    TopicsCommand.CatalogOption topics = new TopicsCommand.CatalogOption();

    @Option(names = "--no-topics", description = "do not create gblm's topics")
    boolean noTopics;

    @Override
    public Integer call() throws InterruptedException {
        TopicCatalog catalog = noTopics ? null : topics.catalog();
        EmbeddedKafka kafka = EmbeddedKafka.builder().dataDir(dataDir).port(port).build();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            kafka.stop();
            stopped.countDown();
        }, "gblm-broker-stop"));
        kafka.start();
        if (catalog != null) {
            try (TopicAdmin admin = TopicAdmin.connect(kafka.clientSettings())) {
                spec.commandLine().getErr().println(TopicAdmin.format(admin.apply(catalog)));
            }
        }
        spec.commandLine().getErr().println("data directory: " + kafka.dataDir()
                + (dataDir == null ? " (temporary, deleted on exit)" : " (kept)"));
        // stdout carries only the address, so scripts can capture it
        spec.commandLine().getOut().println("bootstrap.servers=" + kafka.bootstrapServers());
        spec.commandLine().getOut().flush();
        spec.commandLine().getErr().println("broker ready; Ctrl-C to stop");
        stopped.await();
        return 0;
    }
}
