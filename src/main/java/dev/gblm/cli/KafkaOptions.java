package dev.gblm.cli;

import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.ops.MetricsServer;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options shared by the commands that talk to Kafka or serve metrics ({@code @Mixin}s). */
final class KafkaOptions {
    private KafkaOptions() {}

    /** {@code --bootstrap-servers} and {@code --kafka-config}: how every Kafka client of the command connects. */
    static final class Bootstrap {
        @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
                description = "Kafka bootstrap servers (else env " + KafkaSettings.ENV_BOOTSTRAP
                        + ", else bootstrap.servers of --kafka-config)")
        String servers;
        @Option(names = "--kafka-config", paramLabel = "FILE",
                description = "Kafka client properties for every client of this command (security.protocol, sasl.*, ssl.*, ...),"
                        + " like the --command-config of Kafka's tools; env " + KafkaSettings.ENV_PREFIX
                        + "<KEY> overrides a key (GBLM_KAFKA_SASL_MECHANISM sets sasl.mechanism)")
        Path config;

        /** The connection settings every Kafka client of the command starts from. */
        KafkaSettings settings() {
            return KafkaSettings.resolve(servers, config, System.getenv());
        }

        /** Whether anything names a cluster (flag, file or environment); {@code gblm run} starts a broker otherwise. */
        boolean given() {
            return servers != null || config != null || System.getenv(KafkaSettings.ENV_BOOTSTRAP) != null;
        }
    }

    /** {@code --metrics-port}: off unless given. */
    static final class Metrics {
        @Option(names = "--metrics-port", defaultValue = "-1", paramLabel = "PORT",
                description = "serve /metrics and /health on PORT (0 = any free port; default ${DEFAULT-VALUE} = off)")
        int port;
        @Option(names = "--metrics-host", defaultValue = "${env:GBLM_METRICS_HOST:-127.0.0.1}", paramLabel = "HOST",
                description = "address the metrics endpoint binds to (default ${DEFAULT-VALUE}, env GBLM_METRICS_HOST;"
                        + " 0.0.0.0 lets a scraper or probe in another container reach it)")
        String host;

        /** The started server for {@code metrics}, or null when the port is off (try-with-resources accepts null). */
        MetricsServer serve(GblmMetrics metrics) {
            return port >= 0 ? new MetricsServer(metrics, host, port).start() : null;
        }
    }
}
