package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.ops.ScramUsers;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    @Option(names = "--users", paramLabel = "FILE",
            description = "secured broker: SASL_PLAINTEXT with SCRAM-SHA-512 for the users of FILE (lines name:password)"
                    + " and the StandardAuthorizer (no ACL, no access); see docs/security.md")
    Path usersFile;

    @Option(names = "--broker-user", paramLabel = "NAME", defaultValue = EmbeddedKafka.DEFAULT_BROKER_USER,
            description = "with --users: the user of FILE the broker itself and gblm's administration use;"
                    + " a super user (default: ${DEFAULT-VALUE})")
    String brokerUser;

    @Option(names = "--super-user", paramLabel = "NAME",
            description = "with --users: another super user, one that bypasses every ACL (repeatable)")
    List<String> superUsers = new ArrayList<>();

    @Option(names = "--write-client-configs",
            description = "with --users: write DATA_DIR/clients/<user>.properties (owner-readable only) for each user,"
                    + " ready for --kafka-config")
    boolean writeClientConfigs;

    @Option(names = "--tls",
            description = "with --users: SASL_SSL instead of SASL_PLAINTEXT; a certificate authority, the broker's"
                    + " certificate and one client certificate per user are generated into DATA_DIR/tls at every start")
    boolean tls;

    @Option(names = "--sasl-mechanism", paramLabel = "MECHANISM", split = ",",
            description = "with --users: the SASL mechanisms offered, " + EmbeddedKafka.SCRAM_MECHANISM + " (default) and/or "
                    + EmbeddedKafka.PLAIN_MECHANISM + " (the same users and passwords; use PLAIN with --tls)")
    List<String> mechanisms = new ArrayList<>();

    @Option(names = "--client-certificates",
            description = "with --tls: also an SSL listener on which clients authenticate with their certificate"
                    + " (ssl.client.auth=required; CN=alice is User:alice)")
    boolean clientCertificates;

    @Override
    public Integer call() throws InterruptedException {
        TopicCatalog catalog = noTopics ? null : topics.catalog();
        EmbeddedKafka.Builder builder = EmbeddedKafka.builder().dataDir(dataDir).port(port);
        if (usersFile != null) {
            ScramUsers users = ScramUsers.parse(usersFile);
            if (!users.users().containsKey(brokerUser)) {
                throw new GblmException("users file " + usersFile + " has no line for the broker user " + brokerUser
                        + " (add '" + brokerUser + ":PASSWORD' or choose another with --broker-user)");
            }
            for (String s : superUsers) {
                if (!users.users().containsKey(s)) {
                    throw new GblmException("--super-user " + s + " is not a user of " + usersFile);
                }
            }
            builder.scramUsers(users).brokerUser(brokerUser).superUsers(superUsers);
            if (!mechanisms.isEmpty()) {
                builder.saslMechanisms(mechanisms);
            }
            if (tls) {
                builder.generateTls(users.users().keySet());
            } else if (clientCertificates) {
                throw new GblmException("--client-certificates needs --tls");
            }
            builder.certificateListener(clientCertificates);
        } else if (tls || clientCertificates || !mechanisms.isEmpty()) {
            throw new GblmException("--tls, --sasl-mechanism and --client-certificates need --users FILE");
        } else if (writeClientConfigs || !superUsers.isEmpty()
                || !brokerUser.equals(EmbeddedKafka.DEFAULT_BROKER_USER)) {
            throw new GblmException("--broker-user, --super-user and --write-client-configs need --users FILE");
        }
        EmbeddedKafka kafka = builder.build();
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
        if (kafka.secured()) {
            explainClients(kafka, spec.commandLine().getErr());
        }
        // stdout carries only the address, so scripts can capture it
        spec.commandLine().getOut().println("bootstrap.servers=" + kafka.bootstrapServers());
        spec.commandLine().getOut().flush();
        spec.commandLine().getErr().println("broker ready; Ctrl-C to stop");
        stopped.await();
        return 0;
    }

    /** Tells how a client connects (and writes one properties file per user with --write-client-configs). */
    private void explainClients(EmbeddedKafka kafka, PrintWriter err) {
        err.println("secured: " + kafka.securityProtocol() + ", " + String.join(",", kafka.saslMechanisms())
                + ", StandardAuthorizer; super users: "
                + String.join(", ", kafka.superUsers()) + "; users: " + String.join(", ", kafka.scramUsers().users().keySet())
                + "; every other user needs ACLs");
        if (kafka.tls() != null) {
            err.println("TLS: trust store " + kafka.tls().truststore() + ", generated at this start (CA certificate "
                    + kafka.tls().truststore().resolveSibling("ca.pem") + ")");
        }
        if (clientCertificates) {
            err.println("client certificates: SSL listener bootstrap.servers=" + kafka.certificateBootstrapServers()
                    + ", principal User:<CN>; key stores in " + kafka.tls().truststore().getParent());
        }
        if (writeClientConfigs) {
            Path dir = kafka.dataDir().resolve("clients");
            try {
                Files.createDirectories(dir);
                for (Map.Entry<String, String> u : kafka.scramUsers().users().entrySet()) {
                    Path file = dir.resolve(u.getKey() + ".properties");
                    kafka.clientSettings(u.getKey(), u.getValue()).writeClientConfig(file);
                    err.println("client config of " + u.getKey() + ": " + file);
                    if (clientCertificates) {
                        Path cert = kafka.certificateClientSettings(u.getKey())
                                .writeClientConfig(dir.resolve(u.getKey() + "-certificate.properties"));
                        err.println("client config of " + u.getKey() + " with its certificate: " + cert);
                    }
                }
            } catch (IOException e) {
                throw new GblmException("cannot write client configs into " + dir + ": " + e.getMessage(), e);
            }
            err.println("use one with: gblm <command> --kafka-config " + dir.resolve("<user>.properties"));
        } else {
            err.println("client properties (for --kafka-config FILE; put the user's name and password):");
            err.print(kafka.clientSettings("NAME", "PASSWORD").toClientConfig());
            err.println("(or add --write-client-configs to get one such file per user in the data directory)");
        }
        err.flush();
    }

    /** The client properties of a SCRAM-SHA-512 user of a broker without TLS ({@code gblm run --users} prints them). */
    static String clientConfig(String bootstrapServers, String user, String password) {
        return new KafkaSettings(bootstrapServers, EmbeddedKafka.saslClientProperties(user, password)).toClientConfig();
    }
}
