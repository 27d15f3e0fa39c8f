package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.stream.Profile;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import dev.gblm.stream.worker.Worker;
import dev.gblm.stream.worker.WorkerSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * A job is only ever matched by the workers whose profile id it names, so {@code gblm worker}, {@code gblm job submit
 * --model} and {@code gblm run} must derive the same id from the same options. Each side is parsed from its real
 * command line (picocli) and evaluated without Kafka: the worker's id comes from a constructed {@link Worker}.
 */
class ProfileConsistencyTest {
    static final Path TINY = Path.of("src/test/resources/fixtures/tiny/model");

    @Test
    void workerAndJobSubmitDeriveTheSameProfileWithDefaultOptions() {
        String worker = workerProfile();
        assertThat(jobProfile()).isEqualTo(worker);
        Profile p = Profile.forCheckpoint(Checkpoints.load(TINY), 0, 100f, 1L << 20);
        assertThat(worker).isEqualTo(p.id());
        assertThat(p.seqLen()).as("0 = the model's context").isEqualTo(64);
    }

    @Test
    void workerAndJobSubmitDeriveTheSameProfileWithExplicitOptions() {
        String[] opts = {"--seq-len", "32", "--grad-scale", "50", "--max-record-bytes", "8192"};
        String worker = workerProfile(opts);
        assertThat(jobProfile(opts)).isEqualTo(worker);
        assertThat(worker).isNotEqualTo(workerProfile());
    }

    @Test
    void everyProfileOptionChangesTheId() {
        // the consistency checks above would pass vacuously if an option were ignored on both sides
        String base = workerProfile();
        assertThat(List.of(workerProfile("--seq-len", "32"), workerProfile("--grad-scale", "50"),
                workerProfile("--max-record-bytes", "8192"))).doesNotContain(base).doesNotHaveDuplicates();
        assertThat(jobProfile("--max-record-bytes", "8192")).as("a job for another row-block layout").isNotEqualTo(base);
        assertThat(jobProfile("--seq-len", "64")).as("explicit context length = the default").isEqualTo(base);
    }

    @Test
    void theWorkersHoldOutFractionIsPartOfTheProfileOnEverySide() throws Exception {
        String worker = workerProfile("--holdout", "0.1");
        assertThat(worker).isNotEqualTo(workerProfile());
        assertThat(jobProfile("--worker-holdout", "0.1")).isEqualTo(worker);
        assertThat(jobProfile("--holdout", "0.1")).as("the job's own fraction is not the profile's").isEqualTo(workerProfile());
        assertThat(workerProfile("--holdout", "0")).isEqualTo(workerProfile());
        try (Pipeline p = new Pipeline(PipelineSettings.builder(TINY, Path.of("unused")).holdout(0.1).build())) {
            assertThat(p.profile().id()).isEqualTo(worker);
        }
    }

    @Test
    void gblmRunSubmitsJobsForItsOwnWorkersProfile() throws Exception {
        try (Pipeline p = new Pipeline(PipelineSettings.builder(TINY, Path.of("unused")).build())) {
            assertThat(p.profile().id()).isEqualTo(workerProfile());
        }
        try (Pipeline p = new Pipeline(PipelineSettings.builder(TINY, Path.of("unused")).seqLen(32).build())) {
            assertThat(p.profile().id()).isEqualTo(workerProfile("--seq-len", "32"));
        }
    }

    private static String workerProfile(String... extra) {
        List<String> args = new ArrayList<>(List.of("--model", TINY.toString(), "--bootstrap-servers", "127.0.0.1:9",
                "--worker-id", "w"));
        args.addAll(List.of(extra));
        WorkerCommand cmd = new WorkerCommand();
        new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
        WorkerSettings cfg = cmd.config();
        Checkpoint ckpt = Checkpoints.load(TINY);
        try (GblmMetrics m = new GblmMetrics("worker"); Worker w = new Worker(cfg, ckpt, null, m)) {
            return w.profile().id();
        }
    }

    private static String jobProfile(String... extra) {
        List<String> args = new ArrayList<>(List.of("--bootstrap-servers", "127.0.0.1:9", "--id", "j", "--model",
                TINY.toString(), "--streams", "a", "--method", "gblm"));
        args.addAll(List.of(extra));
        JobCommand.Submit cmd = new JobCommand.Submit();
        new CommandLine(cmd).parseArgs(args.toArray(String[]::new));
        return cmd.resolveProfile();
    }
}
