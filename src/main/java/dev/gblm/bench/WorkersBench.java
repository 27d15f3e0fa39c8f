package dev.gblm.bench;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LlamaConfig;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stream.Json;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Scale-out of the streaming worker: samples/s with 1 and with 2 workers on the same input, in one run. Each worker
 * is its own child JVM ({@code gblm worker}: DJL allows one gradient collector per process) limited to one compute
 * thread, against an embedded broker (itself a child JVM), on a generated random LLaMA written to a temporary
 * directory.
 *
 * <p>Per configuration: a fresh topic and consumer group; the workers are started and the group waited for until
 * every worker owns partitions; a warm-up batch is ingested and committed (JIT, PyTorch allocator, first slice);
 * then the measured batch is ingested and the clock stops when the committed slice records count all of it. The
 * measured time therefore includes what a real deployment pays per sample: forward + backward, the statistics
 * flush and the slice transactions. CPU time of every process (workers, broker, this one) is reported over the
 * measured window so that a shortfall can be attributed.
 */
@Command(name = "workers", mixinStandardHelpOptions = true,
        description = "Streaming worker scale-out: samples/s with 1 and 2 single-threaded worker processes.")
final class WorkersBench implements Callable<Integer> {
    @Option(names = "--samples", defaultValue = "48", description = "measured samples per run (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--warmup", defaultValue = "8", description = "unmeasured samples first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--seq-len", defaultValue = "256", description = "tokens per sample (default ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--workers", split = ",", defaultValue = "1,2",
            description = "worker counts to measure (default ${DEFAULT-VALUE})")
    List<Integer> workerCounts;

    @Option(names = "--partitions", defaultValue = "4", description = "partitions of the calibration topic (default ${DEFAULT-VALUE})")
    int partitions;

    @Option(names = "--samples-per-slice", defaultValue = "12", description = "samples per statistics slice (default ${DEFAULT-VALUE})") int samplesPerSlice;
    // smaller than the other benchmarks: two worker JVMs and a broker share the machine
    @Mixin
    RandomModelOptions shape = new RandomModelOptions(384, 4, 6, 1024, 8000);

    @Option(names = "--worker-heap-mb", defaultValue = "1024", description = "heap of each worker JVM in MiB (default ${DEFAULT-VALUE})")
    int workerHeapMb;

    @Option(names = "--timeout-seconds", defaultValue = "900", description = "give up after this many seconds per run (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Spec
    CommandSpec spec;

    private record Run(int workers, int samples, double seconds, double workerCpu, double brokerCpu, double selfCpu,
            String loadBefore, String loadAfter) {
        double samplesPerSecond() {
            return samples / seconds;
        }

        /** Cores the workers actually got: below {@code workers} means they waited for CPU. */
        double workerCores() {
            return workerCpu / seconds;
        }

        double cpuSecondsPerSample() {
            return workerCpu / samples;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (samples < 1 || warmup < 0 || seqLen < 2 || partitions < 1 || workerCounts.isEmpty()
                || workerCounts.stream().anyMatch(k -> k < 1 || k > partitions)) {
            throw new GblmException("need --samples >= 1, --seq-len >= 2 and 1 <= every --workers <= --partitions");
        }
        PrintWriter out = spec.commandLine().getOut();
        LlamaConfig cfg = shape.config(seqLen);
        Path tmp = Files.createTempDirectory("gblm-bench-workers-");
        try {
            Path modelDir = tmp.resolve("model");
            Checkpoints.saveHf(RandomCheckpoints.uniform(cfg, 1234), modelDir);
            out.printf("model: random LLaMA %s; %d tokens/sample%n", shape.describe(), seqLen);
            out.printf("input: %d warm-up + %d measured samples per run, %d partitions, %d samples per slice%n",
                    warmup, samples, partitions, samplesPerSlice);
            out.flush();
            List<Run> runs = new ArrayList<>();
            try (EmbeddedKafka kafka = EmbeddedKafka.builder().build().start()) {
                String bs = kafka.bootstrapServers();
                TopicCatalog catalog = TopicCatalog.loadOrDefault(null);
                try (TopicAdmin ta = TopicAdmin.connect(KafkaSettings.of(bs))) {
                    for (String t : List.of(Topics.STATS.name(), Topics.SLICES.name(), Topics.DLQ.name())) {
                        ta.ensure(catalog.get(t));
                    }
                }
                try (Admin admin = Admin.create(KafkaSettings.of(bs).admin("gblm-bench-workers"))) {
                    for (int k : workerCounts) {
                        Run r = runOnce(k, kafka, admin, modelDir, tmp);
                        out.printf("%d worker(s): %d samples in %.2f s = %.3f samples/s (CPU s: workers %.1f, broker %.1f,"
                                + " bench %.1f; load average before %s, after %s)%n", r.workers(), r.samples(),
                                r.seconds(), r.samplesPerSecond(), r.workerCpu(), r.brokerCpu(), r.selfCpu(),
                                r.loadBefore(), r.loadAfter());
                        out.flush();
                        runs.add(r);
                    }
                }
            }
            out.println();
            out.printf("%-8s %9s %10s %9s %11s %13s %11s %16s%n", "workers", "seconds", "samples/s", "speed-up",
                    "worker CPU", "worker cores", "broker CPU", "CPU s per sample");
            Run base = runs.get(0);
            for (Run r : runs) {
                out.printf("%-8d %9.2f %10.3f %8.2fx %10.1fs %13.2f %10.1fs %16.3f%n", r.workers(), r.seconds(),
                        r.samplesPerSecond(), r.samplesPerSecond() / base.samplesPerSecond() * base.workers(),
                        r.workerCpu(), r.workerCores(), r.brokerCpu(), r.cpuSecondsPerSample());
            }
            out.printf("cores available: %d. 'worker cores' = worker CPU seconds / wall seconds: a run of k workers"
                    + " that got fewer than k cores waited for CPU (the broker, this process, other load).%n",
                    Runtime.getRuntime().availableProcessors());
            out.flush();
            return 0;
        } finally {
            deleteTree(tmp);
        }
    }

    private Run runOnce(int k, EmbeddedKafka kafka, Admin admin, Path modelDir, Path tmp) throws Exception {
        String bs = kafka.bootstrapServers();
        String stream = "bench-" + k + "w-" + Long.toHexString(System.nanoTime());
        String topic = "calib." + stream;
        String group = "gblm-bench-" + stream;
        admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
        List<Process> children = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> slices = slicesConsumer(bs)) {
            for (int i = 0; i < k; i++) {
                children.add(startWorker(bs, modelDir, topic, group, stream + "-" + i, tmp.resolve(stream + "-" + i + ".log")));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
            awaitGroup(admin, group, k, children, deadline);
            SplittableRandom rnd = new SplittableRandom(42);
            long counted = 0;
            if (warmup > 0) {
                produce(bs, topic, docs(rnd, warmup));
                counted = awaitSamples(slices, stream, warmup, counted, children, deadline);
            }
            List<ProcessHandle> workers = children.stream().map(Process::toHandle).toList();
            Optional<ProcessHandle> broker = kafka.processHandle();
            double w0 = cpuSeconds(workers);
            double b0 = broker.map(h -> cpuSeconds(List.of(h))).orElse(Double.NaN);
            double s0 = cpuSeconds(List.of(ProcessHandle.current()));
            String load0 = loadAverage();
            List<int[]> measured = docs(rnd, samples);
            long t0 = System.nanoTime();
            produce(bs, topic, measured);
            awaitSamples(slices, stream, warmup + samples, counted, children, deadline);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double w1 = cpuSeconds(workers);
            double b1 = broker.map(h -> cpuSeconds(List.of(h))).orElse(Double.NaN);
            double s1 = cpuSeconds(List.of(ProcessHandle.current()));
            return new Run(k, samples, seconds, w1 - w0, b1 - b0, s1 - s0, load0, loadAverage());
        } finally {
            stopAll(children);
        }
    }

    /** {@code gblm worker} in its own JVM, one compute thread, OpenMP threads parked passively. */
    private Process startWorker(String bs, Path modelDir, String topic, String group, String id, Path log)
            throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xmx" + workerHeapMb + "m", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), "dev.gblm.cli.Main", "worker",
                "--model", modelDir.toString(), "--bootstrap-servers", bs, "--seq-len", Integer.toString(seqLen),
                "--threads", "1", "--samples-per-slice", Integer.toString(samplesPerSlice),
                "--max-slice-seconds", "2", "--group", group, "--streams", Pattern.quote(topic), "--worker-id", id);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        // an idle OpenMP team must not spin on the core the other worker computes on
        env.put("OMP_WAIT_POLICY", "PASSIVE");
        env.put("OMP_NUM_THREADS", "1");
        env.put("MKL_NUM_THREADS", "1");
        Process p = pb.start();
        logs.put(p, log);
        p.getOutputStream().close();
        return p;
    }

    /** Waits until the group is stable with {@code k} members that each own at least one partition. */
    private void awaitGroup(Admin admin, String group, int k, List<Process> children, long deadline) throws Exception {
        while (true) {
            requireAlive(children);
            Collection<MemberDescription> members;
            try {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                members = d == null ? List.of() : d.members();
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.GroupIdNotFoundException)) {
                    throw e;
                }
                members = List.of(); // no worker has joined yet
            }
            int owned = members.stream().mapToInt(m -> m.assignment().topicPartitions().size()).sum();
            if (members.size() == k && owned == partitions
                    && members.stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) {
                return;
            }
            checkDeadline(deadline, "workers joining group " + group);
            Thread.sleep(200);
        }
    }

    /** Reads committed slice records until those of {@code stream} count {@code target} samples; returns the count. */
    private long awaitSamples(KafkaConsumer<byte[], byte[]> slices, String stream, long target, long counted,
            List<Process> children, long deadline) {
        long n = counted;
        while (n < target) {
            requireAlive(children);
            for (ConsumerRecord<byte[], byte[]> r : slices.poll(Duration.ofMillis(100))) {
                SliceRecord s = Json.read(r.value(), SliceRecord.class);
                if (stream.equals(s.stream())) {
                    n += s.samples();
                }
            }
            checkDeadline(deadline, "samples of " + stream + " (" + n + " of " + target + " committed)");
        }
        if (n != target) {
            throw new GblmException("committed " + n + " samples of " + stream + ", expected " + target);
        }
        return n;
    }

    private static KafkaConsumer<byte[], byte[]> slicesConsumer(String bs) {
        Properties p = KafkaSettings.of(bs).consumer("gblm-bench-slices");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        List<TopicPartition> tps = c.partitionsFor(Topics.SLICES.name()).stream()
                .map(i -> new TopicPartition(Topics.SLICES.name(), i.partition())).toList();
        c.assign(tps);
        // earlier runs' slices belong to other streams: start at the end
        c.seekToEnd(tps);
        tps.forEach(c::position);
        return c;
    }

    private List<int[]> docs(SplittableRandom rnd, int n) {
        return RandomCheckpoints.documents(rnd, n, seqLen, shape.vocab);
    }

    /** Round-robin over the partitions, so every worker gets the same share. */
    private void produce(String bs, String topic, List<int[]> docs) {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Ingestor.producerProperties(KafkaSettings.of(bs)))) {
            for (int i = 0; i < docs.size(); i++) {
                SampleRecord s = SampleRecord.ofTokens(docs.get(i));
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, i % partitions, s.key(), s.value());
                r.headers().add(new RecordHeader(Topics.HEADER_FORMAT, s.format().getBytes(StandardCharsets.UTF_8)));
                p.send(r);
            }
            p.flush();
        }
    }

    /** The 1-minute load average (Linux), to show what else competed for the cores. */
    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    private static double cpuSeconds(List<ProcessHandle> processes) {
        double s = 0;
        for (ProcessHandle h : processes) {
            s += h.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
        }
        return s;
    }

    private final Map<Process, Path> logs = new java.util.HashMap<>();

    private void requireAlive(List<Process> children) {
        for (Process p : children) {
            if (!p.isAlive()) {
                String tail = "";
                try {
                    List<String> lines = Files.readAllLines(logs.get(p));
                    tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
                } catch (IOException | RuntimeException e) {
                    tail = "(no log: " + e + ")";
                }
                throw new GblmException("a worker process exited early (code " + p.exitValue() + "); its log ends:\n" + tail);
            }
        }
    }

    private static void checkDeadline(long deadline, String what) {
        if (System.nanoTime() > deadline) {
            throw new GblmException("timed out waiting for " + what);
        }
    }

    /** SIGTERM (the worker's shutdown hook commits and leaves the group), then a kill after 30 s. */
    private static void stopAll(List<Process> children) {
        children.forEach(Process::destroy);
        for (Process p : children) {
            try {
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
