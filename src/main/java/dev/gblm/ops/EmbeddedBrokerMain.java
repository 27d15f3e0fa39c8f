package dev.gblm.ops;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Entry point of the embedded broker's child JVM: formats the KRaft storage if needed, then runs
 * {@code kafka.Kafka}. It exits when its standard input closes, so the broker never outlives the
 * gblm process that started it, even when that process is killed without a chance to clean up.
 *
 * <p>Arguments: {@code <cluster-id> <server.properties> [--scram FILE] [--secrets FILE]}. The scram file holds one
 * {@code kafka-storage format --add-scram} value a line ({@code SCRAM-SHA-512=[name=..,password=..]}); it is read
 * and deleted before formatting, so no password appears on a command line or stays on disk. Formatting an already
 * formatted directory is skipped (and the file with it): {@link EmbeddedKafka} then sets the users through Admin.
 * The secrets file holds broker properties with passwords (PLAIN's users, key store passwords); it is read and deleted
 * at once, and its entries reach {@code kafka.Kafka} as in-memory {@code --override} arguments.
 */
public final class EmbeddedBrokerMain {
    private EmbeddedBrokerMain() {}

    public static void main(String[] args) throws Exception {
        Path scram = null;
        Path secrets = null;
        boolean usage = args.length < 2 || args.length % 2 != 0;
        for (int i = 2; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--scram" -> scram = Path.of(args[i + 1]);
                case "--secrets" -> secrets = Path.of(args[i + 1]);
                default -> usage = true;
            }
        }
        if (usage) {
            System.err.println("usage: EmbeddedBrokerMain <cluster-id> <server.properties> [--scram FILE] [--secrets FILE]");
            System.exit(64);
        }
        List<String> kafkaArgs = new ArrayList<>(List.of(args[1]));
        if (secrets != null) {
            Properties p = new Properties();
            try (Reader r = Files.newBufferedReader(secrets, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            Files.delete(secrets);
            for (String key : p.stringPropertyNames()) {
                kafkaArgs.add("--override");
                kafkaArgs.add(key + "=" + p.getProperty(key));
            }
        }
        Thread watchdog = new Thread(EmbeddedBrokerMain::exitWhenParentGoes, "gblm-parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        // An existing, already formatted directory is kept as is (--ignore-formatted): that is how
        // a user's --data-dir survives restarts with its topics and offsets.
        List<String> format = new ArrayList<>(List.of(
                "format", "--cluster-id", args[0], "--config", args[1], "--ignore-formatted"));
        if (scram != null) {
            for (String line : Files.readAllLines(scram, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    format.add("--add-scram");
                    format.add(line.strip());
                }
            }
            Files.delete(scram);
        }
        int rc = kafka.tools.StorageTool.execute(format.toArray(new String[0]), new PrintStream(System.out, true));
        if (rc != 0) {
            System.err.println("gblm: formatting the KRaft storage failed with exit code " + rc);
            System.exit(70);
        }
        kafka.Kafka.main(kafkaArgs.toArray(new String[0]));
    }

    private static void exitWhenParentGoes() {
        try {
            while (System.in.read() >= 0) {
                // the parent never writes; anything read is ignored
            }
        } catch (IOException ignored) {
            // a broken pipe means the same thing as EOF
        }
        System.err.println("gblm: parent process gone, shutting the broker down");
        // System.exit runs Kafka's shutdown hook: a controlled shutdown, logs flushed
        System.exit(0);
    }
}
