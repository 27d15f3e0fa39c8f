package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.ops.ScramUsers;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm run}: broker, topics, worker, finalizer and exporter in one process. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs the whole streaming pipeline on one machine: embedded Kafka (or --bootstrap-servers), topics, "
                + "a worker, the finalizer and the exporter; optionally ingests files and submits jobs at start.")
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "dense model: HF directory, llama2.c .bin, or a directory holding one")
    Path model;
    @Option(names = "--tokenizer", paramLabel = "PATH", description = "tokenizer file (default: found next to the model)")
    Path tokenizer;
    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output directory; exports go to DIR/<job>/epoch-<n>/ (a team's: DIR/teams/<team>/<job>/epoch-<n>/)")
    Path out;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "broker data and finalizer state, kept between runs (default: temporary)")
    Path dataDir;
    /** A cluster named by --bootstrap-servers, --kafka-config or the environment; none: an embedded broker. */
    @Mixin
    KafkaOptions.Bootstrap cluster = new KafkaOptions.Bootstrap();
    @Mixin
    KafkaOptions.Metrics metricsEndpoint = new KafkaOptions.Metrics();
    @Mixin
    DeviceOption device = new DeviceOption();
    @Option(names = "--keep", defaultValue = "0", paramLabel = "K",
            description = "the exporter keeps the newest K complete epochs per job (default ${DEFAULT-VALUE} = all); OUT/<job>/latest links the newest")
    int keep;
    @Option(names = "--users", paramLabel = "FILE",
            description = "secure the embedded broker: SASL/SCRAM users of FILE (name:password lines, 'admin' required), ACLs "
                    + "enforced; worker, finalizer and exporter each run as their own principal (gblm-worker, gblm-finalizer, "
                    + "gblm-exporter: from FILE, or generated) with only their ACLs (see docs/security.md)")
    Path usersFile;
    @Option(names = "--team", paramLabel = "TEAM",
            description = "with --users: onboard TEAM (its user must be in FILE) and ingest and submit as it: streams "
                    + "TEAM.NAME, job ids TEAM.ID on gblm.jobs.TEAM, exports under OUT/teams/TEAM/")
    String team;
    @Option(names = "--seq-len", defaultValue = "0", description = "tokens per sample, BOS included (default ${DEFAULT-VALUE} = the model's context)")
    int seqLen;
    @Option(names = "--holdout", defaultValue = "0", paramLabel = "FRACTION", description = "fraction of the records the "
            + "workers hold out of the statistics (part of the profile); jobs with holdout=F (F <= this) get a held-out "
            + "perplexity per epoch (default ${DEFAULT-VALUE})")
    double holdout;
    @Option(names = "--samples-per-slice", defaultValue = "32", description = "samples per statistics slice (default ${DEFAULT-VALUE})")
    int samplesPerSlice;
    @Option(names = "--workers", defaultValue = "1", description = "worker threads computing statistics (default ${DEFAULT-VALUE})")
    int workers;
    @Option(names = "--instance", defaultValue = "run", description = "suffix of group/application/transactional ids (default ${DEFAULT-VALUE})")
    String instance;
    @ArgGroup(exclusive = false, multiplicity = "0..*")
    List<IngestArg> ingests = new ArrayList<>();
    @Option(names = "--job", paramLabel = "id=..,streams=a+b,method=..,sparsity=..,pattern=..,min-samples=..",
            description = "submit this job at start, once the pipeline is up (repeatable; same keys as gblm job submit)")
    List<String> jobs = new ArrayList<>();
    @Option(names = "--until-exported", description = "exit once epoch 1 of every submitted job is exported (default: run until Ctrl-C)")
    boolean untilExported;
    @Option(names = "--timeout-seconds", defaultValue = "3600", description = "with --until-exported: give up after this many seconds (default ${DEFAULT-VALUE})")
    long timeoutSeconds;

    static final class IngestArg {
        @Option(names = "--ingest", required = true, paramLabel = "FILE",
                description = "calibration file to ingest at start (repeatable, each with its --stream)")
        Path file;
        @Option(names = "--stream", required = true, paramLabel = "NAME", description = "stream (topic calib.NAME) the preceding --ingest file goes to")
        String stream;
        @Option(names = "--format", completionCandidates = Choices.DocumentFormats.class,
                description = "format of the preceding --ingest file: ${COMPLETION-CANDIDATES} (default: jsonl for "
                        + "*.jsonl, else text)")
        String format;
    }

    @Override
    public Integer call() throws Exception {
        List<JobSpec> specs = jobs.stream().map(JobArgument::parse).toList(); // bad syntax fails before any start-up
        if (untilExported && specs.isEmpty()) {
            throw new GblmException("--until-exported needs at least one --job");
        }
        device.apply(spec.commandLine().getErr()); // workers and evaluators load on the process default
        PipelineSettings o = PipelineSettings.builder(model, out).tokenizer(tokenizer).dataDir(dataDir)
                .kafka(cluster.given() ? cluster.settings() : null)
                .metricsPort(metricsEndpoint.port).metricsHost(metricsEndpoint.host).seqLen(seqLen).samplesPerSlice(samplesPerSlice)
                .maxSliceAge(Duration.ofSeconds(5)).workers(workers).instance(instance).progress(System.err)
                .users(usersFile == null ? null : ScramUsers.parse(usersFile)).team(team).holdout(holdout).keep(keep).build();
        CountDownLatch finished = new CountDownLatch(1);
        try (Pipeline p = new Pipeline(o)) {
            Thread hook = new Thread(() -> {
                p.close(); // Ctrl-C: workers commit their open slices, then everything stops in order
                finished.countDown();
            }, "gblm-run-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            p.start();
            if (usersFile != null) {
                spec.commandLine().getErr().println("clients of this secured broker (gblm <command> --kafka-config FILE) need:");
                spec.commandLine().getErr().print(BrokerCommand.clientConfig(p.bootstrapServers(), "NAME", "PASSWORD"));
                spec.commandLine().getErr().flush();
            }
            for (IngestArg i : ingests) {
                DocumentReader.Format fmt = i.format != null ? DocumentReader.Format.parse(i.format)
                        : i.file.toString().endsWith(".jsonl") ? DocumentReader.Format.JSONL : DocumentReader.Format.TEXT;
                p.ingest(i.file, i.stream, fmt);
            }
            for (JobSpec j : specs) {
                p.submit(j);
            }
            if (untilExported) {
                if (!p.awaitFirstEpochs(Duration.ofSeconds(timeoutSeconds))) {
                    throw new GblmException("not every job was exported within " + timeoutSeconds + " s");
                }
                p.exported().values().forEach(m -> spec.commandLine().getOut().println("exported " + m.job() + " epoch "
                        + m.epoch() + " " + m.path()));
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException ignored) {
                    // already shutting down
                }
                return 0;
            }
            finished.await();
            return 0;
        }
    }
}
