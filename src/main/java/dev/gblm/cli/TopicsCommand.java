package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.stream.topics.StrimziRenderer;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm topics render|apply|check}: Kafka topics as code. */
@Command(name = "topics", mixinStandardHelpOptions = true,
        description = "Kafka topics from their definitions in topics/: render Strimzi resources, create, check.",
        subcommands = {TopicsCommand.Render.class, TopicsCommand.Apply.class, TopicsCommand.Check.class})
final class TopicsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static class CatalogOption {
        @Option(names = "--topics", paramLabel = "DIR",
                description = "folder of topic definitions (default: the copy packaged in the jar)")
        Path topicsDir;

        TopicCatalog catalog() {
            return TopicCatalog.loadOrDefault(topicsDir);
        }
    }

    @Command(name = "render", mixinStandardHelpOptions = true,
            description = "Writes the topics as Strimzi KafkaTopic resources (YAML).")
    static final class Render implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CatalogOption catalog = new CatalogOption();

        @Option(names = "--out", paramLabel = "FILE", description = "output file (default: standard output)")
        Path out;

        @Option(names = "--cluster", defaultValue = "gblm",
                description = "Strimzi cluster name (label strimzi.io/cluster), default ${DEFAULT-VALUE}")
        String cluster;

        @Option(names = "--stream", paramLabel = "NAME",
                description = "also render calib.NAME for this calibration stream (repeatable)")
        List<String> streams = new ArrayList<>();

        @Override
        public Integer call() {
            CliFiles.writeOutput(spec, out, StrimziRenderer.render(catalog.catalog(), cluster, streams));
            return 0;
        }
    }

    /** A command that connects to the cluster and reports on every topic of the catalog. */
    abstract static class ClusterAction implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        CatalogOption catalog = new CatalogOption();

        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

        abstract List<TopicReport> act(TopicAdmin admin, TopicCatalog catalog);

        @Override
        public Integer call() {
            try (TopicAdmin admin = TopicAdmin.connect(kafka.settings())) {
                return report(spec, act(admin, catalog.catalog()));
            }
        }
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Creates missing topics and checks existing ones; never alters an existing topic.")
    static final class Apply extends ClusterAction {
        @Override
        List<TopicReport> act(TopicAdmin admin, TopicCatalog catalog) {
            return admin.apply(catalog);
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = "Checks that every topic exists and matches its definition; changes nothing.")
    static final class Check extends ClusterAction {
        @Override
        List<TopicReport> act(TopicAdmin admin, TopicCatalog catalog) {
            return admin.check(catalog);
        }
    }

    static int report(CommandSpec spec, List<TopicReport> reports) {
        spec.commandLine().getOut().println(TopicAdmin.format(reports));
        spec.commandLine().getOut().flush();
        long bad = reports.stream().filter(r -> !r.healthy()).count();
        if (bad > 0) {
            throw new GblmException(bad + " topic(s) missing or different from their definitions (see above)");
        }
        return 0;
    }
}
