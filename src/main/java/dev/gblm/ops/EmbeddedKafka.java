package dev.gblm.ops;

import dev.gblm.GblmException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.SaslAuthenticationException;

/**
 * A real single-node Apache Kafka (KRaft, combined broker + controller) on 127.0.0.1, run as a
 * child JVM ({@code kafka.Kafka} from the kafka_2.13 jar on gblm's own classpath).
 *
 * <p>Why a child JVM rather than an in-process server: the production {@code gblm run} then needs
 * no test jar (KafkaClusterTestKit lives in kafka-test-common-runtime), the broker's static state,
 * threads and logging stay out of the application's JVM, and {@link #stop()} is a plain process
 * shutdown that always releases the ports and the directory lock. The cost is a JVM start-up
 * (a few seconds), paid once per run.
 *
 * <p>The data directory ({@code kraft/} for logs, {@code server.properties}, {@code broker.log}) is
 * either the caller's, kept between runs, or a temporary one deleted by {@link #stop()}.
 *
 * <p><b>Secured mode</b> ({@link Builder#scramUsers}): the client listener is SASL_PLAINTEXT with SCRAM-SHA-512
 * only, the users' credentials are created when the storage is formatted and synchronised with the users at every
 * start, and the KRaft {@code StandardAuthorizer} denies everything no ACL allows, except to the super users: the
 * broker's own user ({@link Builder#brokerUser}, default {@value #DEFAULT_BROKER_USER}), which the broker uses for
 * inter-broker and controller traffic and gblm for administration, plus any {@link Builder#superUsers}. The
 * controller listener is SASL_PLAINTEXT with PLAIN and accepts only the broker user. See docs/security.md.
 *
 * <p>Options of a secured broker, each chosen explicitly (without them it is exactly the broker above):
 * <ul>
 * <li>{@link Builder#saslMechanisms}: SCRAM-SHA-512 (default), PLAIN, or both; PLAIN checks the same users and
 *     passwords, given to the broker's JAAS configuration in memory (see {@link #start()});
 * <li>{@link Builder#tls} (or {@link Builder#generateTls}): the client listener becomes SASL_SSL with the broker
 *     certificate of a {@link TlsMaterial};
 * <li>{@link Builder#certificateListener}: with TLS, a second client listener, {@code SSL} on
 *     {@link #certificateBootstrapServers()}, that requires a client certificate signed by the material's authority
 *     ({@code ssl.client.auth=required}) and takes the principal from its subject: {@code CN=alice,O=gblm} is
 *     {@code User:alice} ({@link TlsMaterial#PRINCIPAL_MAPPING_RULES}), under the same ACLs and super users.
 * </ul>
 */
public final class EmbeddedKafka implements Service {
    /** Largest record the embedded broker accepts; producers must raise max.request.size to match. */
    public static final int MESSAGE_MAX_BYTES = 8 * 1024 * 1024;
    /** The broker's own (super) user in secured mode unless {@link Builder#brokerUser} names another. */
    public static final String DEFAULT_BROKER_USER = "admin";
    /** The SASL mechanism of the secured client listener. */
    public static final String SCRAM_MECHANISM = "SCRAM-SHA-512";
    /** The other SASL mechanism a secured broker may offer ({@link Builder#saslMechanisms}). */
    public static final String PLAIN_MECHANISM = "PLAIN";
    static final String AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

    private final Path dataDir;
    private final boolean deleteOnStop;
    private final int requestedPort;
    private final Duration startTimeout;
    private final int heapMb;
    private final Map<String, String> overrides;
    private final ScramUsers users;
    private final String brokerUser;
    private final List<String> superUsers;
    private final List<String> mechanisms;
    /** Given, or generated at every start when {@link #tlsClients} is set. */
    private TlsMaterial tls;
    private final List<String> tlsClients;
    private final boolean tlsOn;
    private final boolean certificateListener;

    private Process process;
    private int port;
    private int certificatePort;
    private Thread shutdownHook;

    private EmbeddedKafka(Builder b) {
        this.requestedPort = b.port;
        this.startTimeout = b.startTimeout;
        this.heapMb = b.heapMb;
        this.overrides = Map.copyOf(b.overrides);
        this.users = b.users;
        this.brokerUser = b.brokerUser;
        if (users != null) {
            if (!users.users().containsKey(brokerUser)) {
                throw new GblmException("the broker user " + brokerUser + " is not one of the users of " + users.source());
            }
            List<String> supers = new ArrayList<>(List.of(brokerUser));
            for (String s : b.superUsers) {
                if (!ScramUsers.validName(s)) {
                    throw new GblmException("invalid super user name '" + s + "' (" + ScramUsers.NAME_RULE + ")");
                }
                if (!supers.contains(s)) {
                    supers.add(s);
                }
            }
            this.superUsers = List.copyOf(supers);
            List<String> mechs = b.mechanisms.isEmpty() ? List.of(SCRAM_MECHANISM) : List.copyOf(b.mechanisms);
            for (String m : mechs) {
                if (!m.equals(SCRAM_MECHANISM) && !m.equals(PLAIN_MECHANISM)) {
                    throw new GblmException("unsupported SASL mechanism " + m + " (offered: " + SCRAM_MECHANISM + ", "
                            + PLAIN_MECHANISM + ")");
                }
            }
            this.mechanisms = mechs;
        } else {
            if (!b.superUsers.isEmpty() || !b.brokerUser.equals(DEFAULT_BROKER_USER)) {
                throw new GblmException("brokerUser and superUsers need scramUsers (a secured broker)");
            }
            if (!b.mechanisms.isEmpty() || b.tls != null || b.tlsClients != null) {
                throw new GblmException("saslMechanisms and tls need scramUsers (a secured broker)");
            }
            this.superUsers = List.of();
            this.mechanisms = List.of();
        }
        if (b.tls != null && b.tlsClients != null) {
            throw new GblmException("give tls or generateTls, not both");
        }
        this.tlsOn = b.tls != null || b.tlsClients != null;
        if (b.certificateListener && !tlsOn) {
            throw new GblmException("a certificate listener needs tls (the material whose authority signs client certificates)");
        }
        this.tls = b.tls;
        this.tlsClients = b.tlsClients;
        this.certificateListener = b.certificateListener;
        if (b.dataDir != null) {
            this.dataDir = b.dataDir.toAbsolutePath();
            this.deleteOnStop = false;
        } else {
            try {
                this.dataDir = Files.createTempDirectory("gblm-kafka-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a temporary data directory", e);
            }
            this.deleteOnStop = true;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private Path dataDir;
        private int port;
        private Duration startTimeout = Duration.ofSeconds(90);
        private int heapMb = 768;
        private final Map<String, String> overrides = new LinkedHashMap<>();
        private ScramUsers users;
        private String brokerUser = DEFAULT_BROKER_USER;
        private final List<String> superUsers = new ArrayList<>();
        private final List<String> mechanisms = new ArrayList<>();
        private TlsMaterial tls;
        private List<String> tlsClients;
        private boolean certificateListener;

        /**
         * Secured mode: a SASL_PLAINTEXT listener with SCRAM-SHA-512 for these users and the StandardAuthorizer
         * (no ACL, no access, except for super users). Null (default): the plaintext broker without authorization.
         */
        public Builder scramUsers(ScramUsers users) {
            this.users = users;
            return this;
        }

        /**
         * The user the broker itself authenticates as (inter-broker and controller traffic) and that
         * {@link #clientSettings()} uses; always a super user; must be one of {@link #scramUsers}.
         * Default {@value #DEFAULT_BROKER_USER}.
         */
        public Builder brokerUser(String name) {
            this.brokerUser = java.util.Objects.requireNonNull(name);
            return this;
        }

        /** More super users (principals {@code User:<name>}) besides the broker user; they bypass every ACL. */
        public Builder superUsers(java.util.Collection<String> names) {
            this.superUsers.addAll(names);
            return this;
        }

        /**
         * The SASL mechanisms of the client listener, in order of preference ({@link EmbeddedKafka#clientSettings()}
         * uses the first): {@value #SCRAM_MECHANISM} (the default), {@value #PLAIN_MECHANISM}, or both. PLAIN authenticates the
         * users of {@link #scramUsers} with their passwords, which then travel to the broker on every login: use it
         * with {@link #tls}. The broker itself logs in with SCRAM-SHA-512 when it is offered, else with PLAIN.
         */
        public Builder saslMechanisms(java.util.Collection<String> names) {
            this.mechanisms.clear();
            for (String n : names) {
                if (!this.mechanisms.contains(n)) {
                    this.mechanisms.add(n);
                }
            }
            if (this.mechanisms.isEmpty()) {
                throw new GblmException("no SASL mechanism given");
            }
            return this;
        }

        /**
         * TLS for a secured broker: the client listener (and the broker's own inter-broker traffic) is SASL_SSL with
         * the material's broker certificate; clients need its trust store ({@link TlsMaterial#truststoreProperties}).
         * Null (default): SASL_PLAINTEXT. The controller listener stays SASL_PLAINTEXT on 127.0.0.1.
         */
        public Builder tls(TlsMaterial material) {
            this.tls = material;
            return this;
        }

        /**
         * {@link #tls} with material generated into {@code DATA_DIR/tls} at every start, with a client certificate
         * for each name: a new authority and a new store password each time, so clients need the client properties
         * of this start ({@link EmbeddedKafka#tls()} returns the material once started).
         */
        public Builder generateTls(java.util.Collection<String> clientNames) {
            this.tlsClients = List.copyOf(clientNames);
            return this;
        }

        /**
         * With {@link #tls}: also an {@code SSL} listener ({@link EmbeddedKafka#certificateBootstrapServers()}) on
         * which clients authenticate with a certificate signed by the material's authority instead of a password
         * ({@code ssl.client.auth=required}); the principal is the subject's CN ({@code User:alice}).
         */
        public Builder certificateListener(boolean on) {
            this.certificateListener = on;
            return this;
        }

        /** Keep data here between runs (created if missing). Default: a temp dir deleted on stop. */
        public Builder dataDir(Path dir) {
            this.dataDir = dir;
            return this;
        }

        /** Client port on 127.0.0.1; 0 (default) picks a free one. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new GblmException("invalid port " + port);
            }
            this.port = port;
            return this;
        }

        public Builder startTimeout(Duration timeout) {
            this.startTimeout = timeout;
            return this;
        }

        public Builder heapMb(int mb) {
            this.heapMb = mb;
            return this;
        }

        /** Any extra broker property (wins over the defaults). */
        public Builder brokerProperty(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        public EmbeddedKafka build() {
            return new EmbeddedKafka(this);
        }
    }

    /** Starts the broker and returns once it answers Admin requests; throws GblmException when it cannot. */
    @Override
    public String name() {
        return "broker";
    }

    @Override
    public Health health() {
        return isRunning() ? Health.up("embedded broker at " + bootstrapServers()) : Health.down("embedded broker not running");
    }

    /**
     * The settings a client of this broker uses: bootstrap servers only for a plaintext broker; for a secured one,
     * SASL as the broker user (a super user), as {@link #clientSettings(String, String)}.
     */
    public KafkaSettings clientSettings() {
        if (users == null) {
            return KafkaSettings.of(bootstrapServers());
        }
        return clientSettings(brokerUser, users.password(brokerUser));
    }

    /**
     * The client settings of a user of this (secured) broker with its preferred mechanism: SASL_PLAINTEXT (or
     * SASL_SSL with {@link Builder#tls}, trusting the material's authority) and SCRAM-SHA-512 unless only PLAIN is
     * offered.
     */
    public KafkaSettings clientSettings(String user, String password) {
        return clientSettings(user, password, mechanisms.isEmpty() ? SCRAM_MECHANISM : mechanisms.get(0));
    }

    /** {@link #clientSettings(String, String)} with the given SASL mechanism, one this broker offers. */
    public KafkaSettings clientSettings(String user, String password, String mechanism) {
        if (!mechanisms.contains(mechanism)) {
            throw new GblmException("this broker does not offer SASL mechanism " + mechanism + " (offered: "
                    + String.join(", ", mechanisms) + ")");
        }
        return new KafkaSettings(bootstrapServers(), saslProperties(user, password, mechanism));
    }

    /**
     * The settings of a client that authenticates with {@code name}'s certificate of the {@link TlsMaterial} on the
     * certificate listener ({@code security.protocol=SSL}, trust and key stores); its principal is {@code User:name}.
     */
    public KafkaSettings certificateClientSettings(String name) {
        String servers = certificateBootstrapServers();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SSL");
        p.putAll(tls.truststoreProperties());
        p.putAll(tls.keystoreProperties(name));
        return new KafkaSettings(servers, p);
    }

    /** {@code 127.0.0.1:<port>} of the certificate listener ({@link Builder#certificateListener}). */
    public String certificateBootstrapServers() {
        if (!certificateListener) {
            throw new IllegalStateException("this broker has no certificate listener");
        }
        bootstrapServers(); // throws when not started
        return "127.0.0.1:" + certificatePort;
    }

    /** The SASL mechanisms a secured broker offers (empty for a plaintext one), the preferred first. */
    public List<String> saslMechanisms() {
        return mechanisms;
    }

    /** The TLS material of the broker, or null without TLS (and, with generated material, before the start). */
    public TlsMaterial tls() {
        return tls;
    }

    /** The security protocol of the client listener: PLAINTEXT, SASL_PLAINTEXT or SASL_SSL. */
    public String securityProtocol() {
        return users == null ? "PLAINTEXT" : tlsOn ? "SASL_SSL" : "SASL_PLAINTEXT";
    }

    private Map<String, String> saslProperties(String user, String password, String mechanism) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", securityProtocol());
        p.put("sasl.mechanism", mechanism);
        p.put("sasl.jaas.config", mechanism.equals(PLAIN_MECHANISM) ? plainJaas(user, password, Map.of())
                : scramJaas(user, password));
        if (tls != null) {
            p.putAll(tls.truststoreProperties());
        }
        return p;
    }

    /** The client properties of a SCRAM-SHA-512 user over SASL_PLAINTEXT (what a --kafka-config file holds). */
    public static Map<String, String> saslClientProperties(String user, String password) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", SCRAM_MECHANISM);
        p.put("sasl.jaas.config", scramJaas(user, password));
        return p;
    }

    /** Whether the broker runs with SASL and the authorizer. */
    public boolean secured() {
        return users != null;
    }

    /** The super users' names (empty for a plaintext broker); the first is the broker user. */
    public List<String> superUsers() {
        return superUsers;
    }

    /** The broker user of a secured broker (it is also {@code superUsers().get(0)}). */
    public String brokerUser() {
        return brokerUser;
    }

    /** The users of a secured broker, or null. */
    public ScramUsers scramUsers() {
        return users;
    }

    private static String scramJaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    /** PLAIN's login: the client's own user and password, and, on a broker, the users it accepts. */
    private static String plainJaas(String user, String password, Map<String, String> accepted) {
        StringBuilder sb = new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required username=\"")
                .append(user).append("\" password=\"").append(password).append('"');
        accepted.forEach((name, pw) -> sb.append(" user_").append(name).append("=\"").append(pw).append('"'));
        return sb.append(';').toString();
    }

    /** The mechanism the broker logs in with to itself (and gblm's probes with). */
    private String interBrokerMechanism() {
        return mechanisms.contains(SCRAM_MECHANISM) ? SCRAM_MECHANISM : PLAIN_MECHANISM;
    }

    @Override
    public synchronized EmbeddedKafka start() {
        if (process != null) {
            throw new IllegalStateException("already started");
        }
        prepareDataDir();
        if (tlsClients != null) {
            tls = TlsMaterial.generate(dataDir.resolve("tls"), tlsClients);
        }
        port = requestedPort == 0 ? freePort() : requirePortFree(requestedPort);
        int controllerPort = freePort();
        certificatePort = certificateListener ? freePort() : 0;
        Path props = dataDir.resolve("server.properties");
        Path log = dataDir.resolve("broker.log");
        Path scram = dataDir.resolve("format-scram.txt");
        Path secrets = dataDir.resolve("start-secrets.properties");
        Map<String, String> secretProperties = secretProperties();
        try {
            writeProperties(props, brokerProperties(port, controllerPort));
            Files.deleteIfExists(log);
            Files.deleteIfExists(scram);
            Files.deleteIfExists(secrets);
            if (!secretProperties.isEmpty()) {
                // read (and deleted) by the child at every start, handed to Kafka in memory: PLAIN's passwords and
                // the key store passwords are neither on a command line nor left on disk
                writeProperties(secrets, secretProperties);
            }
            if (users != null) {
                // read (and deleted) by the child when it formats the storage: no password on a command line
                StringBuilder lines = new StringBuilder();
                users.users().forEach((name, password) ->
                        lines.append(SCRAM_MECHANISM).append("=[name=").append(name)
                                .append(",password=").append(password).append("]\n"));
                writePrivate(scram, lines.toString());
            }
        } catch (IOException e) {
            throw new GblmException("cannot write to data directory " + dataDir + ": " + e.getMessage(), e);
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xms64m");
        cmd.add("-Xmx" + heapMb + "m");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Djava.awt.headless=true");
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=info");
        cmd.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(EmbeddedBrokerMain.class.getName());
        cmd.add(clusterId());
        cmd.add(props.toString());
        if (users != null) {
            cmd.add("--scram");
            cmd.add(scram.toString());
        }
        if (!secretProperties.isEmpty()) {
            cmd.add("--secrets");
            cmd.add(secrets.toString());
        }
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new GblmException("cannot start the broker JVM: " + e.getMessage(), e);
        }
        shutdownHook = new Thread(this::stopProcess, "gblm-embedded-kafka-stop");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            awaitReady(log);
            if (users != null) {
                syncUsers();
            }
        } catch (RuntimeException e) {
            stop();
            throw e;
        }
        return this;
    }

    /** {@code 127.0.0.1:<port>}; valid after {@link #start()}. */
    public String bootstrapServers() {
        if (process == null) {
            throw new IllegalStateException("broker not started");
        }
        return "127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** The broker process, for CPU accounting in benchmarks; empty when not started. */
    public java.util.Optional<ProcessHandle> processHandle() {
        return process == null ? java.util.Optional.empty() : java.util.Optional.of(process.toHandle());
    }

    /** Controlled shutdown (SIGTERM, then a kill after 30 s); deletes a temporary data dir. Idempotent. */
    public synchronized void stop() {
        stopProcess();
        if (shutdownHook != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException ignored) {
                // already shutting down: the hook runs anyway
            }
            shutdownHook = null;
        }
        if (deleteOnStop) {
            deleteTree(dataDir);
        }
    }

    @Override
    public void close() {
        stop();
    }

    private void stopProcess() {
        Process p = process;
        if (p == null) {
            return;
        }
        try {
            p.getOutputStream().close(); // the child's watchdog exits on EOF too
        } catch (IOException ignored) {
            // nothing to do: the child is going away anyway
        }
        p.destroy();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    Map<String, String> brokerProperties(int clientPort, int controllerPort) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        // A static voter set: the quorum is defined by this file, so a kept data dir restarts fine
        // even when the controller gets another free port.
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("controller.listener.names", "CONTROLLER");
        if (users == null) {
            p.put("listeners", "PLAINTEXT://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
            p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + clientPort);
            p.put("inter.broker.listener.name", "PLAINTEXT");
            p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        } else {
            String password = users.password(brokerUser);
            String client = securityProtocol();
            String listener = "listener.name." + client.toLowerCase(java.util.Locale.ROOT) + ".";
            String certificate = certificateListener ? "SSL://127.0.0.1:" + certificatePort + "," : "";
            p.put("listeners", client + "://127.0.0.1:" + clientPort + "," + certificate
                    + "CONTROLLER://127.0.0.1:" + controllerPort);
            p.put("advertised.listeners", client + "://127.0.0.1:" + clientPort
                    + (certificateListener ? ",SSL://127.0.0.1:" + certificatePort : ""));
            p.put("inter.broker.listener.name", client);
            p.put("listener.security.protocol.map", client + ":" + client + (certificateListener ? ",SSL:SSL" : "")
                    + ",CONTROLLER:SASL_PLAINTEXT");
            // clients and the broker itself: SCRAM-SHA-512 (credentials in the cluster metadata) unless only PLAIN
            // is offered; PLAIN's users are in the JAAS configuration, which secretProperties() holds
            p.put("sasl.enabled.mechanisms", String.join(",", mechanisms));
            p.put(listener + "sasl.enabled.mechanisms", String.join(",", mechanisms));
            p.put("sasl.mechanism.inter.broker.protocol", interBrokerMechanism());
            if (mechanisms.contains(SCRAM_MECHANISM)) {
                p.put(listener + "scram-sha-512.sasl.jaas.config", scramJaas(brokerUser, password));
            }
            if (tls != null) {
                // every TLS listener (SASL_SSL, SSL) and the broker as its own client; passwords in secretProperties()
                p.put("ssl.keystore.type", TlsMaterial.STORE_TYPE);
                p.put("ssl.keystore.location", tls.brokerKeystore().toAbsolutePath().toString());
                p.put("ssl.truststore.type", TlsMaterial.STORE_TYPE);
                p.put("ssl.truststore.location", tls.truststore().toAbsolutePath().toString());
                p.put("ssl.principal.mapping.rules", TlsMaterial.PRINCIPAL_MAPPING_RULES);
            }
            if (certificateListener) {
                p.put("listener.name.ssl.ssl.client.auth", "required");
            }
            // the controller cannot use SCRAM (its credentials live in the metadata it serves): PLAIN with one
            // static user, the broker user
            p.put("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
            p.put("sasl.mechanism.controller.protocol", "PLAIN");
            p.put("listener.name.controller.plain.sasl.jaas.config",
                    plainJaas(brokerUser, password, Map.of(brokerUser, password)));
            p.put("authorizer.class.name", AUTHORIZER);
            p.put("super.users", String.join(";", superUsers.stream().map(u -> "User:" + u).toList()));
            p.put("allow.everyone.if.no.acl.found", "false");
        }
        p.put("log.dirs", dataDir.resolve("kraft").toString());
        // one node: every internal topic with replication factor 1
        p.put("default.replication.factor", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "10");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "10");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("min.insync.replicas", "1");
        p.put("num.partitions", "3");
        p.put("group.initial.rebalance.delay.ms", "0");
        // statistics row blocks and documents can be several MiB
        p.put("message.max.bytes", Integer.toString(MESSAGE_MAX_BYTES));
        p.put("replica.fetch.max.bytes", Integer.toString(MESSAGE_MAX_BYTES));
        // topics are code: a typo in a topic name must fail, not create a topic
        p.put("auto.create.topics.enable", "false");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "4");
        p.put("log.retention.check.interval.ms", "60000");
        p.putAll(overrides);
        return p;
    }

    /**
     * Broker properties that hold passwords beyond the broker user's own (which server.properties has always held):
     * PLAIN's accepted users and the key store passwords. They reach the broker at every start through a file the
     * child reads and deletes, so they are neither on a command line nor left in the data directory.
     */
    Map<String, String> secretProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        if (users == null) {
            return p;
        }
        if (mechanisms.contains(PLAIN_MECHANISM)) {
            p.put("listener.name." + securityProtocol().toLowerCase(java.util.Locale.ROOT) + ".plain.sasl.jaas.config",
                    plainJaas(brokerUser, users.password(brokerUser), users.users()));
        }
        if (tls != null) {
            p.put("ssl.keystore.password", tls.password());
            p.put("ssl.key.password", tls.password());
            p.put("ssl.truststore.password", tls.password());
        }
        return p;
    }

    /** The id of an already formatted directory (formatting must be given the same), else a new one. */
    private String clusterId() {
        Path meta = dataDir.resolve("kraft").resolve("meta.properties");
        if (Files.isRegularFile(meta)) {
            Properties p = new Properties();
            try (var in = Files.newInputStream(meta)) {
                p.load(in);
            } catch (IOException e) {
                throw new GblmException("cannot read " + meta + ": " + e.getMessage(), e);
            }
            String id = p.getProperty("cluster.id");
            if (id == null || id.isBlank()) {
                throw new GblmException(meta + " has no cluster.id: not a Kafka data directory?");
            }
            return id.trim();
        }
        return Uuid.randomUuid().toString();
    }

    private void prepareDataDir() {
        if (Files.exists(dataDir) && !Files.isDirectory(dataDir)) {
            throw new GblmException("data directory " + dataDir + " is a file");
        }
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new GblmException("cannot create data directory " + dataDir + ": " + e.getMessage(), e);
        }
        if (!Files.isWritable(dataDir)) {
            throw new GblmException("data directory " + dataDir + " is not writable");
        }
    }

    private void awaitReady(Path log) {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        // Wait for the listener before creating the Admin client: it would log a warning for
        // every refused connection while the JVM is still starting.
        awaitListening(log, deadline);
        Properties ap = probeSettings().admin("gblm-embedded-broker-probe");
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        ap.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
        long authFailingSince = 0;
        try (Admin admin = Admin.create(ap)) {
            while (true) {
                if (!process.isAlive()) {
                    throw new GblmException("the embedded Kafka broker exited with code " + process.exitValue()
                            + " during start-up; last lines of " + log + ":\n" + tail(log, 15));
                }
                try {
                    int nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                            .nodes().get(3, TimeUnit.SECONDS).size();
                    if (nodes > 0) {
                        return;
                    }
                    authFailingSince = 0;
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof SaslAuthenticationException) {
                        // credentials may not be loaded in the first moments; a lasting failure is a wrong password
                        if (authFailingSince == 0) {
                            authFailingSince = System.nanoTime();
                        } else if (System.nanoTime() - authFailingSince > TimeUnit.SECONDS.toNanos(10)) {
                            throw new GblmException("the broker user " + brokerUser + " cannot authenticate to the"
                                    + " embedded broker (" + e.getCause().getMessage() + "); with a kept data"
                                    + " directory its password must stay the one " + dataDir + " was formatted with");
                        }
                    }
                } catch (Exception notYet) {
                    // not listening yet: retry until the deadline
                }
                if (System.nanoTime() > deadline) {
                    throw new GblmException("the embedded Kafka broker did not become ready within "
                            + startTimeout.toSeconds() + " s; last lines of " + log + ":\n" + tail(log, 15));
                }
                Thread.sleep(200);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GblmException("interrupted while waiting for the embedded broker", e);
        }
    }

    private KafkaSettings probeSettings() {
        String servers = "127.0.0.1:" + port;
        return users == null ? KafkaSettings.of(servers)
                : new KafkaSettings(servers, saslProperties(brokerUser, users.password(brokerUser), interBrokerMechanism()));
    }

    /**
     * Makes the broker's SCRAM-SHA-512 users exactly those of {@link #users}: a fresh directory got them when it
     * was formatted; a kept one gets new users and changed passwords here, and loses users no longer listed
     * (the broker user is left alone: its password authenticated the call).
     */
    private void syncUsers() {
        Properties ap = probeSettings().admin("gblm-embedded-broker-users");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        try (Admin admin = Admin.create(ap)) {
            Map<String, UserScramCredentialsDescription> existing =
                    admin.describeUserScramCredentials().all().get(30, TimeUnit.SECONDS);
            List<UserScramCredentialAlteration> changes = new ArrayList<>();
            users.users().forEach((name, password) -> {
                if (!name.equals(brokerUser)) {
                    changes.add(new UserScramCredentialUpsertion(name,
                            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), password));
                }
            });
            existing.forEach((name, description) -> {
                if (!users.users().containsKey(name) && description.credentialInfos().stream()
                        .anyMatch(c -> c.mechanism() == ScramMechanism.SCRAM_SHA_512)) {
                    changes.add(new UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512));
                }
            });
            if (!changes.isEmpty()) {
                admin.alterUserScramCredentials(changes).all().get(30, TimeUnit.SECONDS);
            }
        } catch (java.util.concurrent.ExecutionException e) {
            throw new GblmException("cannot set the users of the embedded broker: " + e.getCause().getMessage(), e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new GblmException("timed out setting the users of the embedded broker", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GblmException("interrupted while setting the users of the embedded broker", e);
        }
    }

    private void awaitListening(Path log, long deadline) {
        while (true) {
            if (!process.isAlive()) {
                throw new GblmException("the embedded Kafka broker exited with code " + process.exitValue()
                        + " during start-up; last lines of " + log + ":\n" + tail(log, 15));
            }
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                return;
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new GblmException("the embedded Kafka broker did not open port " + port + " within "
                        + startTimeout.toSeconds() + " s; last lines of " + log + ":\n" + tail(log, 15));
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GblmException("interrupted while waiting for the embedded broker", e);
            }
        }
    }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new GblmException("no free port on 127.0.0.1: " + e.getMessage(), e);
        }
    }

    private static int requirePortFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return port;
        } catch (IOException e) {
            throw new GblmException("port " + port + " on 127.0.0.1 is not usable (" + e.getMessage()
                    + "); choose another with --port, or 0 for a free one");
        }
    }

    private static void writeProperties(Path file, Map<String, String> props) throws IOException {
        StringBuilder w = new StringBuilder();
        w.append("# written by gblm's EmbeddedKafka at every start; edits are overwritten\n");
        for (Map.Entry<String, String> e : props.entrySet()) {
            w.append(e.getKey()).append('=').append(e.getValue().replace("\\", "\\\\")).append('\n');
        }
        // a secured broker's file holds the broker user's password: readable by its owner only
        writePrivate(file, w.toString());
    }

    /**
     * Writes {@code text} to a file only its owner can read or write (POSIX file systems; elsewhere the
     * directory's permissions apply). Public for the CLI's client configuration files.
     */
    public static void writePrivate(Path file, String text) throws IOException {
        writePrivate(file, text.getBytes(StandardCharsets.UTF_8));
    }

    /** {@link #writePrivate(Path, String)} for bytes (key stores). */
    public static void writePrivate(Path file, byte[] bytes) throws IOException {
        Files.deleteIfExists(file);
        try {
            Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            Files.createFile(file);
        }
        Files.write(file, bytes);
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort for a temp dir
                }
            });
        } catch (IOException ignored) {
            // best effort for a temp dir
        }
    }

}
