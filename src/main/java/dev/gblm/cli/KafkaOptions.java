package dev.gblm.cli;

import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.ops.MetricsServer;
import picocli.CommandLine.Option;

/** Options shared by the commands that talk to Kafka or serve metrics ({@code @Mixin}s). */
final class KafkaOptions {
    private KafkaOptions() {}

    /** {@code --bootstrap-servers}, required. */
    static final class Bootstrap {
        @Option(names = "--bootstrap-servers", required = true, paramLabel = "HOST:PORT", description = "Kafka bootstrap servers")
        String servers;

        /** The connection settings every Kafka client of the command starts from. */
        KafkaSettings settings() {
            return KafkaSettings.of(servers);
        }
    }

    /** {@code --metrics-port}: off unless given. */
    static final class Metrics {
        @Option(names = "--metrics-port", defaultValue = "-1", paramLabel = "PORT",
                description = "serve /metrics and /health on 127.0.0.1:PORT (0 = any free port; default ${DEFAULT-VALUE} = off)")
        int port;

        /** The started server for {@code metrics}, or null when the port is off (try-with-resources accepts null). */
        MetricsServer serve(GblmMetrics metrics) {
            return port >= 0 ? new MetricsServer(metrics, port).start() : null;
        }
    }
}
