package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.JobStatus;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.job.JobClient;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What `gblm job status` prints: the refusal or progress first, then every epoch with its export. */
class JobStatusTextTest {
    private static final JobSpec JOB = new JobSpec("a.j", "0123456789abcdef", List.of("a.x", "b.y"), "gblm", 0.5,
            "unstructured", null, "l1", 64, 32, 0).withTeam("a");

    @Test
    void aRefusedJobSaysWhy() {
        JobStatus s = new JobStatus("a.j", "a", JobStatus.State.REFUSED, "team a may not read stream b.y", 40, 64, 0, false,
                64, 1);
        String text = JobStatusText.render(new JobClient.Report("a.j", JOB, s, List.of(), List.of()));
        assertThat(text).contains("job a.j (team a): gblm unstructured sparsity 0.500, streams a.x,b.y")
                .contains("state: refused — team a may not read stream b.y").contains("next epoch (1): 40 of 64 new samples")
                .contains("epochs: none yet");
    }

    @Test
    void eachEpochShowsItsExportDriftAndHeldOutQuality() {
        JobStatus s = new JobStatus("a.j", "a", JobStatus.State.FINALIZED, null, 10, 64, 2, true, 32, 1);
        EpochRecord e1 = epoch(1);
        EpochRecord e2 = epoch(2);
        ModelReady m1 = new ModelReady("a.j", 1, "/out/teams/a/a.j/epoch-1", 64, 6400, 0.5, List.of("a.x"), 2, "p", null, 0, 0,
                0, 1.0, true, 29.1, 6.0, 29);
        ModelReady m2 = new ModelReady("a.j", 2, "/out/teams/a/a.j/epoch-2", 96, 9600, 0.5, List.of("a.x"), 3, "p", 0.0931, 0,
                0, 0, 1.0, true, 29.9, 6.0, 29);
        String text = JobStatusText.render(new JobClient.Report("a.j", JOB, s, List.of(e1, e2), List.of(m1, m2)));
        assertThat(text).contains("state: finalized").contains("next epoch (3): 10 of 32 new samples")
                .contains("epoch 1: 64 samples, 1 slices, exported to /out/teams/a/a.j/epoch-1 (sparsity 0.5000, held-out "
                        + "perplexity 29.100 (dense 6.000, 29 samples))")
                .contains("epoch 2: 64 samples, 1 slices, exported to /out/teams/a/a.j/epoch-2 (sparsity 0.5000, drift 0.0931, "
                        + "held-out perplexity 29.900 (dense 6.000, 29 samples))");
    }

    @Test
    void aJobWithoutStatusIsExplained() {
        String text = JobStatusText.render(new JobClient.Report("a.j", null, null, List.of(), List.of()));
        assertThat(text).contains("job a.j (deleted: no current definition)").contains("state: unknown");
    }

    private static EpochRecord epoch(int e) {
        return new EpochRecord("a.j", e, "0123456789abcdef", JOB, List.of("s" + e), 64, 6400, List.of("a.x"), List.of(), 0,
                null, 0, "fin");
    }
}
