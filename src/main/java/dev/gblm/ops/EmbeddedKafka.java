package dev.gblm.ops;

import dev.gblm.GblmException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
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
import org.apache.kafka.common.Uuid;

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
 */
public final class EmbeddedKafka implements Service {
    /** Largest record the embedded broker accepts; producers must raise max.request.size to match. */
    public static final int MESSAGE_MAX_BYTES = 8 * 1024 * 1024;

    private final Path dataDir;
    private final boolean deleteOnStop;
    private final int requestedPort;
    private final Duration startTimeout;
    private final int heapMb;
    private final Map<String, String> overrides;

    private Process process;
    private int port;
    private Thread shutdownHook;

    private EmbeddedKafka(Builder b) {
        this.requestedPort = b.port;
        this.startTimeout = b.startTimeout;
        this.heapMb = b.heapMb;
        this.overrides = Map.copyOf(b.overrides);
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

    /** The settings a client of this broker uses (plaintext, bootstrap servers only). */
    public KafkaSettings clientSettings() {
        return KafkaSettings.of(bootstrapServers());
    }

    @Override
    public synchronized EmbeddedKafka start() {
        if (process != null) {
            throw new IllegalStateException("already started");
        }
        prepareDataDir();
        port = requestedPort == 0 ? freePort() : requirePortFree(requestedPort);
        int controllerPort = freePort();
        Path props = dataDir.resolve("server.properties");
        Path log = dataDir.resolve("broker.log");
        try {
            writeProperties(props, brokerProperties(port, controllerPort));
            Files.deleteIfExists(log);
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
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + clientPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + clientPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
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
        Properties ap = KafkaSettings.of("127.0.0.1:" + port).admin("gblm-embedded-broker-probe");
        ap.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        ap.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
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
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("# written by gblm's EmbeddedKafka at every start; edits are overwritten\n");
            for (Map.Entry<String, String> e : props.entrySet()) {
                w.write(e.getKey() + "=" + e.getValue().replace("\\", "\\\\") + "\n");
            }
        }
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
