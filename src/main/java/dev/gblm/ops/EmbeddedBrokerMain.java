package dev.gblm.ops;

import java.io.IOException;
import java.io.PrintStream;

/**
 * Entry point of the embedded broker's child JVM: formats the KRaft storage if needed, then runs
 * {@code kafka.Kafka}. It exits when its standard input closes, so the broker never outlives the
 * gblm process that started it, even when that process is killed without a chance to clean up.
 *
 * <p>Arguments: {@code <cluster-id> <server.properties>}.
 */
public final class EmbeddedBrokerMain {
    private EmbeddedBrokerMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: EmbeddedBrokerMain <cluster-id> <server.properties>");
            System.exit(64);
        }
        Thread watchdog = new Thread(EmbeddedBrokerMain::exitWhenParentGoes, "gblm-parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        // An existing, already formatted directory is kept as is (--ignore-formatted): that is how
        // a user's --data-dir survives restarts with its topics and offsets.
        int rc = kafka.tools.StorageTool.execute(
                new String[] {"format", "--cluster-id", args[0], "--config", args[1], "--ignore-formatted"},
                new PrintStream(System.out, true));
        if (rc != 0) {
            System.err.println("gblm: formatting the KRaft storage failed with exit code " + rc);
            System.exit(70);
        }
        kafka.Kafka.main(new String[] {args[1]});
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
