package dev.gblm.stream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Default worker ids: one per worker on a host, the same one again after a restart. */
class WorkerIdLockTest {
    @TempDir
    Path dir;

    /** Holds a slot in its own process until its standard input closes: a second worker process on this host. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            try (WorkerIdLock lock = WorkerIdLock.acquire(Path.of(args[0]), args[1])) {
                System.out.println(lock.workerId());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // held until the parent closes our stdin (or kills us)
                }
            }
        }
    }

    @Test
    void defaultsComputedConcurrentlyDifferAndAReleasedIdIsReusedFirst() throws Exception {
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<WorkerIdLock> locks = new ArrayList<>();
        try {
            List<Callable<WorkerIdLock>> tasks = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                tasks.add(() -> WorkerIdLock.acquire(dir, "host-a"));
            }
            for (Future<WorkerIdLock> f : pool.invokeAll(tasks)) {
                locks.add(f.get());
            }
            Set<String> ids = new HashSet<>();
            locks.forEach(l -> ids.add(l.workerId()));
            assertThat(ids).hasSize(n).contains("host-a", "host-a_1", "host-a_7");
            for (String id : ids) {
                WorkerSettings.builder(KafkaSettings.of("localhost:9092"), id).build(); // a valid worker id
            }
            WorkerIdLock first = locks.stream().filter(l -> l.slot() == 0).findFirst().orElseThrow();
            WorkerIdLock third = locks.stream().filter(l -> l.slot() == 2).findFirst().orElseThrow();
            third.close();
            first.close();
            // a restarted worker takes the lowest free slot: the first worker's id, then the third's
            try (WorkerIdLock again = WorkerIdLock.acquire(dir, "host-a");
                    WorkerIdLock again2 = WorkerIdLock.acquire(dir, "host-a")) {
                assertThat(again.workerId()).isEqualTo("host-a");
                assertThat(again2.workerId()).isEqualTo("host-a_2");
            }
            // another host sharing the directory (a shared /tmp) has its own slots
            try (WorkerIdLock other = WorkerIdLock.acquire(dir, "host-b")) {
                assertThat(other.workerId()).isEqualTo("host-b");
            }
        } finally {
            pool.shutdownNow();
            locks.forEach(WorkerIdLock::close);
        }
    }

    @Test
    void twoProcessesOnOneHostGetDifferentIdsAndARestartGetsTheOldOneBack() throws Exception {
        Process other = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Holder.class.getName(), dir.toString(), "host-a")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(other.getInputStream(), StandardCharsets.UTF_8));
            String otherId = out.readLine();
            assertThat(otherId).as("the first process's id").isEqualTo("host-a");
            String mine;
            try (WorkerIdLock l = WorkerIdLock.acquire(dir, "host-a")) {
                mine = l.workerId();
            }
            assertThat(mine).isEqualTo("host-a_1");
            // the other process ends abruptly (the OS frees its lock); its restart gets its id back
            other.destroyForcibly();
            assertThat(other.waitFor(60, TimeUnit.SECONDS)).isTrue();
            try (WorkerIdLock restarted = WorkerIdLock.acquire(dir, "host-a")) {
                assertThat(restarted.workerId()).isEqualTo("host-a");
            }
        } finally {
            other.destroyForcibly();
        }
    }

    @Test
    void hostNamesAreSanitizedSoNoSlotIdEqualsAnotherHostsName() throws Exception {
        assertThat(WorkerIdLock.sanitize("my_host.example:1")).isEqualTo("my-host.example-1");
        assertThat(WorkerIdLock.sanitize("x".repeat(300))).hasSize(96);
        try (WorkerIdLock l = WorkerIdLock.acquire(dir, "a_1")) {
            assertThat(l.workerId()).isEqualTo("a-1");
        }
        assertThat(WorkerIdLock.idOf("a", 1)).isEqualTo("a_1");
    }

    @Test
    void anUnusableDirectoryIsAClearError() throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        assertThatThrownBy(() -> WorkerIdLock.acquire(file.resolve("ids"), "h")).isInstanceOf(GblmException.class)
                .hasMessageContaining("--worker-id");
    }
}
