package dev.gblm.prune.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.prune.Mask;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MaskFileTest {

    private static Mask randomMask(Random rnd, int rows, int cols) {
        Mask m = new Mask(rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                if (rnd.nextBoolean()) {
                    m.prune(r, c);
                }
            }
        }
        return m;
    }

    @Test
    void roundTripThroughAFile(@TempDir Path dir) {
        Random rnd = new Random(6);
        List<MaskFile.Entry> entries = List.of(
                new MaskFile.Entry(0, "q_proj", randomMask(rnd, 7, 13)),
                new MaskFile.Entry(0, "down_proj", randomMask(rnd, 64, 64)),
                new MaskFile.Entry(11, "up_proj", randomMask(rnd, 1, 1)));
        Path f = dir.resolve("masks.bin");
        MaskFile.write(f, entries);
        assertThat(MaskFile.read(f)).isEqualTo(entries);
        // header 16 + per entry (4+2+name+8) + ceil(out*in/8)
        long expected = 16 + (14 + 6 + 12) + (14 + 9 + 512) + (14 + 7 + 1);
        assertThat(f.toFile().length()).isEqualTo(expected);
    }

    @Test
    void bitsAreLsbFirstRowMajor() {
        Mask m = new Mask(2, 5);
        m.prune(0, 0); // index 0 -> byte 0 bit 0
        m.prune(1, 3); // index 8 -> byte 1 bit 0
        m.prune(1, 4); // index 9 -> byte 1 bit 1
        m.prune(0, 2); // index 2 -> byte 0 bit 2
        assertThat(m.toPackedBytes()).containsExactly(0b0000_0101, 0b0000_0011);
        assertThat(Mask.fromPackedBytes(2, 5, m.toPackedBytes())).isEqualTo(m);
    }

    @Test
    void truncatedOrForeignFilesAreRejected() {
        byte[] good = MaskFile.toBytes(List.of(new MaskFile.Entry(1, "v_proj", randomMask(new Random(7), 9, 9))));
        byte[] cut = Arrays.copyOf(good, good.length - 1);
        assertThatThrownBy(() -> MaskFile.read(new ByteArrayInputStream(cut))).isInstanceOf(GblmException.class)
                .hasMessage("mask file is truncated");
        byte[] foreign = good.clone();
        foreign[0] = 'X';
        assertThatThrownBy(() -> MaskFile.read(new ByteArrayInputStream(foreign))).isInstanceOf(GblmException.class)
                .hasMessageContaining("bad magic");
        byte[] longer = Arrays.copyOf(good, good.length + 1);
        assertThatThrownBy(() -> MaskFile.read(new ByteArrayInputStream(longer))).isInstanceOf(GblmException.class)
                .hasMessageContaining("unexpected data");
    }

    @Test
    void concatRowsRebuildsTheWholeMask() {
        Random rnd = new Random(8);
        Mask a = randomMask(rnd, 3, 11);
        Mask b = randomMask(rnd, 5, 11);
        Mask all = Mask.concatRows(List.of(a, b));
        for (int r = 0; r < 8; r++) {
            for (int c = 0; c < 11; c++) {
                assertThat(all.isPruned(r, c)).isEqualTo(r < 3 ? a.isPruned(r, c) : b.isPruned(r - 3, c));
            }
        }
        assertThat(all.prunedCount()).isEqualTo(a.prunedCount() + b.prunedCount());
    }
}
