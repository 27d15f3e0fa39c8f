package dev.gblm.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gblm bench faults}: the fault-injection soak ({@link FaultInjection}). The defaults are the long soak whose
 * figures docs/architecture.md quotes; {@code FaultInjectionTest} runs the same harness with a CI profile.
 */
@Command(name = "faults", mixinStandardHelpOptions = true,
        description = {"Fault-injection soak: workers, finalizer and exporter as child JVMs against an embedded broker;"
                + " SIGKILLs a random service at random moments and restarts the broker during one calibration run, then"
                + " checks that every sample was counted exactly once, every epoch exported exactly once, the masks equal"
                + " batch one-shot on the epoch's samples and no temporary directory is left.",
                "Exit code 0 when every check passed, 1 otherwise."})
final class FaultInjectionCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--seed", defaultValue = "1",
            description = "seed of everything the harness decides: documents, ingest times, kill delays and targets,"
                    + " restart delays, broker restarts (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--samples", defaultValue = "600",
            description = "valid calibration samples, spread over 2 streams (= the jobs' min-samples; default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--bad-samples", defaultValue = "6",
            description = "poison records mixed in (malformed JSON, token out of range, too short, empty text); each must"
                    + " reach gblm.dlq exactly once (default ${DEFAULT-VALUE})")
    int badSamples;

    @Option(names = "--kills", defaultValue = "60",
            description = "SIGKILLs of a randomly chosen worker, finalizer or exporter; each killed service is restarted"
                    + " after 0.5-3 s (default ${DEFAULT-VALUE})")
    int kills;

    @Option(names = "--broker-restarts", defaultValue = "3",
            description = "stops and restarts of the embedded broker on the same data directory and port, at random"
                    + " moments (default ${DEFAULT-VALUE})")
    int brokerRestarts;

    @Option(names = "--workers", defaultValue = "2", description = "worker processes (default ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--max-broker-downtime-seconds", defaultValue = "4",
            description = "each broker restart keeps the broker down for a random 1 s up to this long, on top of its"
                    + " stop and start (default ${DEFAULT-VALUE}; above 60 s the services' Kafka calls time out)")
    double maxBrokerDowntime;

    @Option(names = "--session-timeout-ms", defaultValue = "6000",
            description = "session.timeout.ms of the workers' and the finalizer's consumer groups (given to every child"
                    + " with --kafka-config): how long a killed member holds its partitions; 0 = Kafka's default, 45 s"
                    + " (default ${DEFAULT-VALUE}, the broker's minimum)")
    long sessionTimeoutMs;

    @Option(names = "--mean-kill-interval-seconds", defaultValue = "5",
            description = "mean delay between kills; each delay is uniform in [0.4, 1.6] times it (default ${DEFAULT-VALUE})")
    double meanKillInterval;

    @Option(names = "--samples-per-slice", defaultValue = "8",
            description = "the workers' --samples-per-slice (default ${DEFAULT-VALUE})")
    int samplesPerSlice;

    @Option(names = "--timeout-seconds", defaultValue = "1800",
            description = "bound on the run until every epoch is exported; the checks follow (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--model", paramLabel = "PATH",
            description = "an existing model (HF directory or llama2.c .bin); default: a generated random LLaMA shaped by"
                    + " --hidden, --layers, --heads, --intermediate, --vocab and --context")
    Path model;

    @Mixin
    RandomModelOptions shape = new RandomModelOptions(64, 2, 4, 172, 256);

    @Option(names = "--context", defaultValue = "64",
            description = "context (= tokens per sample) of the generated model (default ${DEFAULT-VALUE})")
    int context;

    @Option(names = "--work-dir", paramLabel = "DIR",
            description = "where the run's temporary directory is created (default: the system's temp dir)")
    Path workDir;

    @Option(names = "--keep-dir", description = "keep the run's directory (broker data, service logs, model, outputs)"
            + " and print its path; by default it is deleted")
    boolean keepDir;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        FaultInjectionReport r = FaultInjection.run(FaultInjection.builder().seed(seed).samples(samples)
                .badSamples(badSamples).kills(kills).brokerRestarts(brokerRestarts).workers(workers)
                .meanKillInterval(Duration.ofMillis((long) (meanKillInterval * 1000)))
                .maxBrokerDowntime(Duration.ofMillis((long) (maxBrokerDowntime * 1000)))
                .sessionTimeout(Duration.ofMillis(sessionTimeoutMs)).samplesPerSlice(samplesPerSlice)
                .timeout(Duration.ofSeconds(timeoutSeconds)).model(model).randomModel(shape.config(context))
                .workDir(workDir).keepDir(keepDir).out(out).build());
        out.println();
        out.print(r.summary());
        out.flush();
        return r.passed() ? 0 : 1;
    }
}
