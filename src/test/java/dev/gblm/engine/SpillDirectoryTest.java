package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Spill files: floats round-trip exactly, and a spill the disk cannot hold is refused before any work. */
class SpillDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void floatsRoundTripAcrossChunksAndTheDirectoryIsDeletedOnClose() {
        float[] big = new float[3_000_001]; // more than one 8 MiB chunk
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) Math.sin(i) * 1e-3f;
        }
        float[] small = {Float.MIN_VALUE, -0f, Float.NaN};
        Path d;
        try (SpillDirectory s = SpillDirectory.create(dir, 1, "test data")) {
            d = s.path();
            s.writeFloats("a", big, small);
            float[] big2 = new float[big.length];
            float[] small2 = new float[small.length];
            s.readFloats("a", big2, small2);
            // mismatch, not containsExactly: AssertJ's element diff is quadratic on 3M floats
            assertThat(Arrays.mismatch(big2, big)).as("first differing index").isEqualTo(-1);
            assertThat(Float.floatToRawIntBits(small2[1])).isEqualTo(Float.floatToRawIntBits(-0f));
            assertThat(small2[2]).isNaN();
            assertThat(s.bytesWritten()).isEqualTo(4L * (big.length + small.length));
        }
        assertThat(Files.exists(d)).isFalse();
    }

    @Test
    void aSpillLargerThanTheFreeSpaceIsRefusedInOneLineAndLeavesNothing() throws IOException {
        long need = Files.getFileStore(dir).getUsableSpace() + (1L << 40);
        assertThatThrownBy(() -> SpillDirectory.create(dir, need, "the dense gradient sums of sequential pruning"))
                .isInstanceOf(GblmException.class)
                .hasMessageStartingWith("the dense gradient sums of sequential pruning need ")
                .hasMessageContaining("GB are free there")
                .hasMessageContaining("--spill-dir")
                .hasMessageNotContaining("\n");
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void aSpillMustFitBesideWhatOpenSpillDirectoriesAreStillToWrite() throws IOException {
        long free = Files.getFileStore(dir).getUsableSpace();
        long need = free / 10 * 6; // two of them do not fit together; either fits alone
        String gradients = "the dense gradient sums of sequential pruning";
        try (SpillDirectory ignored = SpillDirectory.create(dir, need, gradients)) {
            assertThatThrownBy(() -> SpillDirectory.create(dir, need, "the hidden states of sequential pruning"))
                    .isInstanceOf(GblmException.class)
                    .hasMessageStartingWith("the hidden states of sequential pruning need ")
                    .hasMessageContaining("of which other spill files of this run are still to take")
                    .hasMessageNotContaining("\n");
        }
        try (SpillDirectory second = SpillDirectory.create(dir, need, "the hidden states of sequential pruning")) {
            assertThat(second.path()).exists();
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left).isEmpty();
        }
    }
}
