package dev.gblm.cli;

import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicReport;
import dev.gblm.stream.topics.TopicSpec;
import dev.gblm.teams.AclApplier;
import dev.gblm.teams.AclSet;
import dev.gblm.teams.KafkaUserRenderer;
import dev.gblm.teams.Quota;
import dev.gblm.teams.ServiceAcls;
import dev.gblm.teams.TeamAcls;
import dev.gblm.teams.TeamTopics;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code gblm team ...}: onboarding teams and the service principals on a secured cluster (docs/security.md). */
@Command(name = "team", mixinStandardHelpOptions = true,
        description = "Teams on a secured cluster: ACLs, quotas and job topic of a team (render as Strimzi KafkaUser"
                + " or apply with the Admin API), read grants on other teams' streams, and the service principals.",
        subcommands = {TeamCommand.Render.class, TeamCommand.Apply.class, TeamCommand.Grant.class,
                TeamCommand.Revoke.class, TeamCommand.Grants.class, TeamCommand.Services.class})
final class TeamCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The service principals and client ids (a team must not clash with them). */
    static final class ServiceOptions {
        @Option(names = "--worker-principal", defaultValue = "gblm-worker", paramLabel = "USER",
                description = "the workers' Kafka user (default ${DEFAULT-VALUE})")
        String worker;
        @Option(names = "--finalizer-principal", defaultValue = "gblm-finalizer", paramLabel = "USER",
                description = "the finalizer's Kafka user (default ${DEFAULT-VALUE})")
        String finalizer;
        @Option(names = "--exporter-principal", defaultValue = "gblm-exporter", paramLabel = "USER",
                description = "the exporter's Kafka user (default ${DEFAULT-VALUE})")
        String exporter;
        @Option(names = "--worker-group-prefix", defaultValue = "gblm-worker", paramLabel = "PREFIX",
                description = "prefix of the workers' consumer groups (their --group, or the default"
                        + " gblm-worker-<profile>); default ${DEFAULT-VALUE}")
        String workerGroup;
        @Option(names = "--finalizer-application-id", defaultValue = "gblm-finalizer", paramLabel = "ID",
                description = "the finalizer's --application-id (default ${DEFAULT-VALUE})")
        String applicationId;
        @Option(names = "--exporter-group", defaultValue = "gblm-exporter", paramLabel = "GROUP",
                description = "the exporter's --group (default ${DEFAULT-VALUE})")
        String exporterGroup;

        ServiceAcls.Names names() {
            return new ServiceAcls.Names(worker, finalizer, exporter, workerGroup, applicationId, exporterGroup);
        }

        List<AclSet> services() {
            return ServiceAcls.all(names());
        }
    }

    /** TEAM, its members and quota. */
    static final class TeamOptions {
        @Parameters(index = "0", paramLabel = "TEAM", description = "team name: 1-32 of a-z 0-9 -, no dots")
        String team;
        @Option(names = "--member", paramLabel = "USER",
                description = "another Kafka user with the team's rights (repeatable); the team's own user is TEAM")
        List<String> members = new ArrayList<>();
        @Option(names = "--produce-bytes-per-sec", defaultValue = "" + Quota.DEFAULT_PRODUCE_BYTES_PER_SEC,
                paramLabel = "N", description = "produce quota of each user of the team (default ${DEFAULT-VALUE};"
                        + " 0 = none)")
        long produceRate;
        @Option(names = "--consume-bytes-per-sec", defaultValue = "0", paramLabel = "N",
                description = "fetch quota of each user of the team (default ${DEFAULT-VALUE} = none)")
        long consumeRate;
        @Mixin
        ServiceOptions services = new ServiceOptions();

        /** The team's ACL set, checked against the service principals. */
        AclSet acls() {
            AclSet set = TeamAcls.of(team, members, new Quota(produceRate, consumeRate));
            TeamAcls.requireNoClash(set, services.services());
            return set;
        }
    }

    @Command(name = "render", mixinStandardHelpOptions = true,
            description = "Writes the team as Strimzi resources (YAML): one KafkaUser per user (SCRAM-SHA-512, its"
                    + " ACLs, its quota) and the KafkaTopic gblm.jobs.TEAM.")
    static final class Render implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        TeamOptions team = new TeamOptions();
        @Mixin
        TopicsCommand.CatalogOption catalog = new TopicsCommand.CatalogOption();
        @Option(names = "--read-stream", paramLabel = "STREAM",
                description = "also let the team read this stream of another team (repeatable): on Strimzi the User"
                        + " Operator owns the users' ACLs, so grants are rendered, not applied with `team grant`")
        List<String> readStreams = new ArrayList<>();
        @Option(names = "--cluster", defaultValue = "gblm",
                description = "Strimzi cluster name (label strimzi.io/cluster), default ${DEFAULT-VALUE}")
        String cluster;
        @Option(names = "--out", paramLabel = "FILE", description = "output file (default: standard output)")
        Path out;

        @Override
        public Integer call() {
            AclSet set = TeamAcls.withGrants(team.acls(), readStreams);
            TopicSpec jobs = TeamTopics.jobsTopic(team.team, catalog.catalog());
            CliFiles.writeOutput(spec, out, KafkaUserRenderer.render("gblm team render " + team.team,
                    List.of(set), List.of(jobs), cluster));
            return 0;
        }
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Creates the team's ACLs (idempotent; existing ones are kept), sets its quotas and creates"
                    + " its job topic gblm.jobs.TEAM, through the Admin API as an admin (--kafka-config). The users"
                    + " themselves (SCRAM credentials) are created separately: gblm broker --users, or Strimzi.")
    static final class Apply implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        TeamOptions team = new TeamOptions();
        @Mixin
        TopicsCommand.CatalogOption catalog = new TopicsCommand.CatalogOption();
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

        @Override
        public Integer call() {
            AclSet set = team.acls();
            TopicSpec jobs = TeamTopics.jobsTopic(team.team, catalog.catalog());
            try (AclApplier applier = AclApplier.connect(kafka.settings())) {
                TopicReport topic = applier.ensureTopic(jobs);
                AclApplier.Applied applied = applier.apply(set);
                PrintWriter out = spec.commandLine().getOut();
                out.println(topic.describe());
                out.println(describe(set, applied));
                out.flush();
            }
            return 0;
        }
    }

    static String describe(AclSet set, AclApplier.Applied applied) {
        Quota q = set.quota();
        return set.name() + ": " + applied.bindings() + " ACL bindings for user(s) " + String.join(", ", set.users())
                + " (" + applied.created() + " new); quota per user: produce "
                + (q.producerByteRate() == 0 ? "none" : q.producerByteRate() + " B/s") + ", fetch "
                + (q.consumerByteRate() == 0 ? "none" : q.consumerByteRate() + " B/s");
    }

    /** {@code --stream S --to TEAM}. */
    static final class GrantOptions {
        @Option(names = "--stream", required = true, paramLabel = "STREAM",
                description = "the stream to share, e.g. b.wiki (topic calib.b.wiki)")
        String stream;
        @Option(names = "--to", required = true, paramLabel = "TEAM", description = "the team that may read it")
        String team;
    }

    @Command(name = "grant", mixinStandardHelpOptions = true,
            description = "Lets every user of an applied team read one stream of another team (LITERAL READ and"
                    + " DESCRIBE on calib.STREAM); run by an admin, at the owner's request.")
    static final class Grant implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        GrantOptions grant = new GrantOptions();
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

        @Override
        public Integer call() {
            try (AclApplier applier = AclApplier.connect(kafka.settings())) {
                List<String> users = applier.grant(grant.team, grant.stream);
                spec.commandLine().getOut().println("team " + grant.team + " (" + String.join(", ", users)
                        + ") may read stream " + grant.stream);
            }
            return 0;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Removes a grant of `gblm team grant`.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        GrantOptions grant = new GrantOptions();
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

        @Override
        public Integer call() {
            try (AclApplier applier = AclApplier.connect(kafka.settings())) {
                int n = applier.revoke(grant.team, grant.stream);
                spec.commandLine().getOut().println(n == 0
                        ? "team " + grant.team + " had no grant on stream " + grant.stream + ": nothing to revoke"
                        : "team " + grant.team + " may no longer read stream " + grant.stream + " (" + n
                                + " ACL bindings deleted)");
            }
            return 0;
        }
    }

    @Command(name = "grants", mixinStandardHelpOptions = true,
            description = "Lists the topics an applied team may read: its own streams and jobs, granted streams,"
                    + " the public topics.")
    static final class Grants implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Parameters(index = "0", paramLabel = "TEAM", description = "the team")
        String team;
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

        @Override
        public Integer call() {
            Topics.requireTeam(team);
            try (AclApplier applier = AclApplier.connect(kafka.settings())) {
                applier.readable(team).forEach(spec.commandLine().getOut()::println);
                spec.commandLine().getOut().flush();
            }
            return 0;
        }
    }

    @Command(name = "services", mixinStandardHelpOptions = true,
            description = "The service principals (worker, finalizer, exporter): the only users that may write"
                    + " gblm's internal topics.",
            subcommands = {ServicesRender.class, ServicesApply.class})
    static final class Services implements Runnable {
        @Spec
        CommandSpec spec;

        @Override
        public void run() {
            spec.commandLine().usage(spec.commandLine().getOut());
        }
    }

    @Command(name = "render", mixinStandardHelpOptions = true,
            description = "Writes one Strimzi KafkaUser per service principal (YAML); deploy/k8s/kafka-users.yaml is"
                    + " this output.")
    static final class ServicesRender implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        ServiceOptions services = new ServiceOptions();
        @Option(names = "--cluster", defaultValue = "gblm",
                description = "Strimzi cluster name (label strimzi.io/cluster), default ${DEFAULT-VALUE}")
        String cluster;
        @Option(names = "--out", paramLabel = "FILE", description = "output file (default: standard output)")
        Path out;

        @Override
        public Integer call() {
            CliFiles.writeOutput(spec, out, KafkaUserRenderer.render("gblm team services render",
                    services.services(), List.of(), cluster));
            return 0;
        }
    }

    @Command(name = "apply", mixinStandardHelpOptions = true,
            description = "Creates the service principals' ACLs (idempotent) through the Admin API as an admin.")
    static final class ServicesApply implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        ServiceOptions services = new ServiceOptions();
        @Mixin
        KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

        @Override
        public Integer call() {
            try (AclApplier applier = AclApplier.connect(kafka.settings())) {
                for (AclSet set : services.services()) {
                    spec.commandLine().getOut().println(describe(set, applier.apply(set)));
                }
                spec.commandLine().getOut().flush();
            }
            return 0;
        }
    }
}
