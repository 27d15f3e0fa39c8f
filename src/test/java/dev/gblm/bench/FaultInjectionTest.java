package dev.gblm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.testing.TinyFixtures;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fault-injection suite's CI profile ({@link FaultInjection}; the long soak is {@code gblm bench faults}): the tiny
 * fixture model, 300 token samples plus 4 poison records over 2 streams, 2 worker processes, the finalizer and the
 * exporter as child JVMs; 20 SIGKILLs of randomly chosen services at random moments (one of them into the first
 * epoch's finalization or export) and 2 broker restarts, seed 20261201. A few minutes on the 2-core development machine.
 *
 * <p>Asserted, from the broker (read_committed) and the output directory after the run: (a) every sample counted
 * exactly once (slices plus dead letters tile every calibration offset), (b) every job's epoch exported exactly once
 * (one epoch record, each mask block once, one gblm.models event, one directory), (c) masks equal {@code BatchPruner}
 * one-shot on exactly the epoch's samples (wanda bit for bit, gblm within the near-tie bound), (d) no temporary
 * directory under the output, (e) the harness's own directories deleted, (f) no service exited on its own.
 */
class FaultInjectionTest {
    static final long SEED = 20261201L;

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void killedServicesAndRestartedBrokersStillGiveExactlyOnceEpochsEqualToBatch() throws Exception {
        FaultInjectionReport r = FaultInjection.run(FaultInjection.builder().seed(SEED)
                .model(TinyFixtures.modelDir())
                .samples(300).badSamples(4).workers(2).samplesPerSlice(8)
                .kills(20).meanKillInterval(Duration.ofMillis(4500)).maxRestartDelay(Duration.ofSeconds(3))
                .brokerRestarts(2).settle(Duration.ofSeconds(10))
                .timeout(Duration.ofMinutes(10)).childHeapMb(320).out(System.out).build());
        System.out.println();
        System.out.print(r.summary());

        assertThat(r.totalKills()).as("SIGKILLs").isGreaterThanOrEqualTo(20);
        assertThat(r.kills().values()).as("every service killed at least once").allMatch(n -> n >= 1);
        assertThat(r.brokerRestarts()).as("broker restarts").isEqualTo(2);
        assertThat(r.check("epochs exported").ok()).as(r.check("epochs exported").detail()).isTrue();
        assertThat(r.check("(a)").ok()).as(r.check("(a)").detail()).isTrue();
        assertThat(r.check("(b)").ok()).as(r.check("(b)").detail()).isTrue();
        assertThat(r.check("(c)").ok()).as(r.check("(c)").detail()).isTrue();
        assertThat(r.check("(d)").ok()).as(r.check("(d)").detail()).isTrue();
        assertThat(r.check("(e)").ok()).as(r.check("(e)").detail()).isTrue();
        assertThat(Files.exists(r.workDir())).as("harness work dir").isFalse();
        assertThat(r.check("(f)").ok()).as(r.check("(f)").detail()).isTrue();
        assertThat(r.passed()).as(r.failures()).isTrue();
    }
}
