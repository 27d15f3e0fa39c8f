package dev.gblm.stream.exporter;

import static dev.gblm.stream.exporter.ExporterPiecesTest.blocksOf;
import static dev.gblm.stream.exporter.ExporterPiecesTest.ckpt;
import static dev.gblm.stream.exporter.ExporterPiecesTest.feed;
import static dev.gblm.stream.exporter.ExporterPiecesTest.randomMasks;
import static dev.gblm.stream.exporter.ExporterPiecesTest.readMasks;
import static dev.gblm.stream.exporter.ExporterPiecesTest.record;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.prune.Mask;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.ModelReady;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable exports without Kafka: an existing epoch directory is trusted only when its completion marker verifies,
 * leftovers of killed writers are removed, and an epoch that cannot be written is retried with backoff and reported.
 */
class ExporterDurabilityTest {
    @TempDir
    Path tmp;
    SimpleMeterRegistry reg = new SimpleMeterRegistry();

    @BeforeAll
    static void load() {
        ExporterPiecesTest.load();
    }

    /** Exports j/1 once with a fresh exporter; returns its event. */
    ModelReady exportOnce(Path out, Map<ModuleKey, Mask> masks) {
        EpochExports x = new EpochExports(out, ckpt, null, reg);
        feed(x, record("j", 1), blocksOf(masks), 0);
        List<ModelReady> ready = x.exportComplete();
        assertThat(ready).hasSize(1);
        return ready.get(0);
    }

    @Test
    void anExportCarriesAMarkerThatVerifiesAndAReplayTrustsIt() {
        Path out = tmp.resolve("out");
        Map<ModuleKey, Mask> masks = randomMasks(40);
        assertThat(exportOnce(out, masks).written()).isTrue();
        Path dir = EpochExports.epochDir(out, "j", 1);
        assertThat(dir.resolve(PrunedModelWriter.COMPLETE_FILE)).isRegularFile();
        assertThat(PrunedModelWriter.incompleteReason(dir)).isNull();
        assertThat(exportOnce(out, masks).written()).isFalse();
        assertThat(reg.get("gblm.exporter.epochs.existing").counter().count()).isEqualTo(1);
        assertThat(reg.get("gblm.exporter.epochs.rewritten").counter().count()).isZero();
    }

    @Test
    void anEmptyTruncatedCorruptOrUnmarkedDirectoryIsWrittenAgain() throws IOException {
        Map<ModuleKey, Mask> masks = randomMasks(41);
        List<Consumer<Path>> damage = List.of(
                dir -> deleteTree(dir, true),
                dir -> truncate(dir.resolve("model.safetensors"), 100),
                dir -> flipByte(dir.resolve("model.safetensors")),
                dir -> delete(dir.resolve(PrunedModelWriter.COMPLETE_FILE)),
                dir -> delete(dir.resolve(PrunedModelWriter.MASKS_FILE)));
        int i = 0;
        for (Consumer<Path> d : damage) {
            Path out = tmp.resolve("out" + i++);
            exportOnce(out, masks);
            Path dir = EpochExports.epochDir(out, "j", 1);
            d.accept(dir);
            assertThat(PrunedModelWriter.incompleteReason(dir)).as("damage %d", i).isNotNull();
            ModelReady again = exportOnce(out, masks);
            assertThat(again.written()).as("damage %d", i).isTrue();
            assertThat(PrunedModelWriter.incompleteReason(dir)).isNull();
            assertThat(readMasks(dir)).isEqualTo(masks);
            try (Stream<Path> s = Files.list(dir.getParent())) {
                assertThat(s.map(p -> p.getFileName().toString())).as("nothing moved aside is left").containsExactly("epoch-1");
            }
        }
        assertThat(reg.get("gblm.exporter.epochs.rewritten").counter().count()).isEqualTo(damage.size());
    }

    @Test
    void leftoversOfKilledWritersAreRemovedAndNothingElse() throws IOException {
        Path out = tmp.resolve("out");
        exportOnce(out, randomMasks(42));
        Path jobDir = out.resolve("j");
        Path tmpDir = Files.createDirectories(jobDir.resolve(".epoch-2.tmp-" + UUID.randomUUID()));
        Files.writeString(tmpDir.resolve("model.safetensors"), "half");
        Path oldDir = Files.createDirectories(jobDir.resolve(".epoch-1.old-" + UUID.randomUUID()));
        Path keep = Files.createDirectories(jobDir.resolve(".epoch-3.tmp-notauuid"));
        Path userFile = Files.writeString(jobDir.resolve("notes.txt"), "mine");
        EpochExports x = new EpochExports(out, ckpt, null, reg);
        assertThat(x.removeLeftovers()).isEqualTo(2);
        assertThat(tmpDir).doesNotExist();
        assertThat(oldDir).doesNotExist();
        assertThat(keep).exists();
        assertThat(userFile).exists();
        assertThat(PrunedModelWriter.incompleteReason(jobDir.resolve("epoch-1"))).isNull();
        assertThat(new EpochExports(tmp.resolve("absent"), ckpt, null, reg).removeLeftovers()).isZero();
    }

    @Test
    void anEpochThatCannotBeWrittenIsRetriedWithBackoffReportedStuckAndRecovers() throws IOException {
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve("j"));
        Path blocker = Files.writeString(out.resolve("j/epoch-1"), "a file where the directory should be");
        AtomicLong now = new AtomicLong(1_000_000L);
        EpochExports x = new EpochExports(out, ckpt, null, reg, now::get);
        Map<ModuleKey, Mask> masks = randomMasks(43);
        feed(x, record("j", 1), blocksOf(masks), 0);
        assertThat(x.exportComplete()).isEmpty();
        assertThat(x.stuck()).as("one failure is not yet stuck").isNull();
        assertThat(x.exportComplete()).as("backing off: no attempt").isEmpty();
        assertThat(reg.get("gblm.exporter.export.failures").counter().count()).isEqualTo(1);
        for (int attempt = 2; attempt <= EpochExports.FAILURES_BEFORE_DOWN; attempt++) {
            now.addAndGet(TimeUnit.SECONDS.toNanos(120));
            assertThat(x.exportComplete()).isEmpty();
        }
        assertThat(reg.get("gblm.exporter.export.failures").counter().count()).isEqualTo(EpochExports.FAILURES_BEFORE_DOWN);
        assertThat(reg.get("gblm.exporter.epochs.failing").gauge().value()).isEqualTo(1);
        assertThat(x.stuck()).contains("cannot export epoch j/1").contains("3 failed attempts").contains("is a file");
        assertThat(x.safeOffset("gblm.masks-0", 10_000)).as("the epoch's records stay uncommitted").isZero();
        assertThat(x.pendingEpochs()).isEqualTo(1);

        Files.delete(blocker);
        now.addAndGet(TimeUnit.SECONDS.toNanos(120));
        List<ModelReady> ready = x.exportComplete();
        assertThat(ready).singleElement().matches(ModelReady::written);
        assertThat(x.stuck()).isNull();
        assertThat(reg.get("gblm.exporter.epochs.failing").gauge().value()).isZero();
        assertThat(readMasks(EpochExports.epochDir(out, "j", 1))).isEqualTo(masks);
    }

    @Test
    void aDamagedPreviousEpochDoesNotKeepTheNextOneFromBeingExported() {
        Path out = tmp.resolve("out");
        exportOnce(out, randomMasks(44));
        truncate(EpochExports.epochDir(out, "j", 1).resolve(PrunedModelWriter.MASKS_FILE), 7);
        EpochExports x = new EpochExports(out, ckpt, null, reg);
        Map<ModuleKey, Mask> masks = randomMasks(45);
        feed(x, record("j", 2), blocksOf(masks), 0);
        List<ModelReady> ready = x.exportComplete();
        assertThat(ready).singleElement().satisfies(m -> {
            assertThat(m.written()).isTrue();
            assertThat(m.drift()).as("no comparison with a damaged masks.bin").isNull();
        });
        assertThat(x.stuck()).isNull();
        assertThat(readMasks(EpochExports.epochDir(out, "j", 2))).isEqualTo(masks);
    }

    @Test
    void latestPointsAtTheNewestCompleteEpochAndKeepDeletesOlderOnes() throws IOException {
        // invariant: after each announced epoch, latest names the newest complete epoch (replaced by one rename, so a
        // reader never finds it dangling), and --keep K leaves exactly the K newest complete epochs
        Path out = tmp.resolve("out");
        EpochExports x = new EpochExports(out, ckpt, null, reg);
        Path jobDir = out.resolve("j");
        for (int e = 1; e <= 4; e++) {
            feed(x, record("j", e), blocksOf(randomMasks(50 + e)), 0);
            assertThat(x.exportComplete()).singleElement().satisfies(m -> assertThat(m.written()).isTrue());
            List<Path> deleted = EpochRetention.apply(jobDir, 2);
            assertThat(Files.readSymbolicLink(jobDir.resolve("latest"))).hasToString("epoch-" + e);
            assertThat(PrunedModelWriter.incompleteReason(jobDir.resolve("latest").toRealPath())).isNull();
            assertThat(deleted).hasSize(e > 2 ? 1 : 0);
        }
        try (Stream<Path> s = Files.list(jobDir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("epoch-3", "epoch-4", "latest");
        }
        // an incomplete newer directory is neither pointed at nor counted
        Files.createDirectories(jobDir.resolve("epoch-5"));
        assertThat(EpochRetention.apply(jobDir, 2)).isEmpty();
        assertThat(Files.readSymbolicLink(jobDir.resolve("latest"))).hasToString("epoch-4");
        // keep 0 keeps everything; a start-up scan ignores the link
        assertThat(EpochRetention.apply(jobDir, 0)).isEmpty();
        assertThat(new EpochExports(out, ckpt, null, reg).removeLeftovers()).isZero();
        assertThat(jobDir.resolve("epoch-3")).isDirectory();
    }

    private static void truncate(Path f, long size) {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(size);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static void flipByte(Path f) {
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            long at = r.length() - 10;
            r.seek(at);
            int b = r.read();
            r.seek(at);
            r.write(b ^ 0x40);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static void delete(Path f) {
        try {
            Files.delete(f);
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    /** Empties {@code dir} (keeps it when {@code keepDir}). */
    private static void deleteTree(Path dir, boolean keepDir) {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                if (!(keepDir && p.equals(dir))) {
                    Files.delete(p);
                }
            }
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }
}
