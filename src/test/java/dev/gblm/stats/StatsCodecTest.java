package dev.gblm.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.model.LinearKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StatsCodecTest {

    private static ModuleStats random(StatKinds kinds, int rowStart, int rowEnd, int in) {
        ModuleStats s = ModuleStats.zeros(7, LinearKind.DOWN_PROJ, rowStart, rowEnd, in, kinds);
        Random rnd = new Random(9);
        for (float[] a : new float[][] {s.gradL1(), s.gradL2Sq(), s.actSq(), s.hessian()}) {
            if (a != null) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) rnd.nextGaussian();
                }
            }
        }
        s.addCounts(128, 65_536);
        return s;
    }

    @Test
    void roundTripsEveryKindCombination() {
        for (int bits = 0; bits < 8; bits++) {
            StatKinds kinds = StatKinds.fromBits(bits);
            ModuleStats s = random(kinds, 3, 9, 11);
            byte[] rec = StatsCodec.encode(s);
            assertThat(rec.length).isEqualTo(StatsCodec.encodedSize(6, 11, kinds));
            assertThat(StatsCodec.decode(rec)).as("kinds %s", kinds).isEqualTo(s);
        }
    }

    @Test
    void headerIsLittleEndianAsDocumented() {
        ModuleStats s = random(StatKinds.of(StatKind.ACT), 0, 1, 2);
        s.actSq()[0] = 1.5f;
        ByteBuffer b = ByteBuffer.wrap(StatsCodec.encode(s)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(Arrays.copyOf(b.array(), 4), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("GBST");
        assertThat(b.getShort(4)).isEqualTo((short) 1);
        assertThat(b.get(6)).isEqualTo((byte) 2);
        assertThat(b.get(7)).isEqualTo((byte) LinearKind.DOWN_PROJ.ordinal());
        assertThat(b.getInt(8)).isEqualTo(7);
        assertThat(b.getInt(20)).isEqualTo(2);
        assertThat(b.getLong(24)).isEqualTo(128);
        assertThat(b.getFloat(40)).isEqualTo(1.5f);
    }

    @Test
    void corruptRecordsAreRejectedWithClearMessages() {
        byte[] good = StatsCodec.encode(random(StatKinds.of(StatKind.GRAD, StatKind.ACT), 0, 4, 5));
        assertThatThrownBy(() -> StatsCodec.decode(Arrays.copyOf(good, 10))).isInstanceOf(StatsFormatException.class)
                .isInstanceOf(GblmException.class).hasMessageContaining("too short");
        assertThatThrownBy(() -> StatsCodec.decode(Arrays.copyOf(good, good.length - 4)))
                .isInstanceOf(StatsFormatException.class).hasMessageContaining("header implies " + good.length);
        byte[] flipped = good.clone();
        flipped[100] ^= 1;
        assertThatThrownBy(() -> StatsCodec.decode(flipped)).isInstanceOf(StatsFormatException.class)
                .hasMessageContaining("CRC mismatch");
        byte[] magic = good.clone();
        magic[1] = 'X';
        assertThatThrownBy(() -> StatsCodec.decode(magic)).hasMessageContaining("bad magic");
        byte[] version = good.clone();
        version[4] = 9;
        assertThatThrownBy(() -> StatsCodec.decode(version)).hasMessageContaining("unsupported statistics format version 9");
        byte[] kinds = good.clone();
        kinds[6] = (byte) 0x10;
        assertThatThrownBy(() -> StatsCodec.decode(kinds)).hasMessageContaining("unknown statistic kind");
        byte[] module = good.clone();
        module[7] = 42;
        assertThatThrownBy(() -> StatsCodec.decode(module)).hasMessageContaining("unknown module ordinal 42");
        byte[] rows = good.clone();
        rows[16] = 0; // rowEnd 0 <= rowStart
        assertThatThrownBy(() -> StatsCodec.decode(rows)).hasMessageContaining("bad header");
    }

    @Test
    void plannedBlocksFitTheLimitAndCoverAllRows() {
        StatKinds gradAct = StatKinds.of(StatKind.GRAD, StatKind.ACT);
        int[][] shapes = {{4096, 11008}, {11008, 4096}, {4096, 4096}, {64, 64}, {1, 1}, {1000, 333}};
        for (int[] shape : shapes) {
            for (long limit : new long[] {RowBlockPlanner.DEFAULT_MAX_BYTES, 200_000, 1_000_000_000L}) {
                long oneRow = StatsCodec.encodedSize(1, shape[1], gradAct);
                if (oneRow > limit) {
                    continue;
                }
                List<RowRange> plan = RowBlockPlanner.plan(shape[0], shape[1], gradAct, limit);
                int next = 0;
                int minRows = Integer.MAX_VALUE;
                int maxRows = 0;
                for (RowRange r : plan) {
                    assertThat(r.start()).isEqualTo(next);
                    assertThat(StatsCodec.encodedSize(r.rows(), shape[1], gradAct)).isLessThanOrEqualTo(limit);
                    next = r.end();
                    minRows = Math.min(minRows, r.rows());
                    maxRows = Math.max(maxRows, r.rows());
                }
                assertThat(next).isEqualTo(shape[0]);
                assertThat(maxRows - minRows).isLessThanOrEqualTo(1);
                // fewest blocks: one block fewer would not fit
                if (plan.size() > 1) {
                    int rowsIfFewer = (shape[0] + plan.size() - 2) / (plan.size() - 1);
                    assertThat(StatsCodec.encodedSize(rowsIfFewer, shape[1], gradAct)).isGreaterThan(limit);
                }
            }
        }
        // a real encoded block is within the limit
        List<RowRange> plan = RowBlockPlanner.plan(300, 700, gradAct, 200_000);
        RowRange first = plan.get(0);
        byte[] rec = StatsCodec.encode(ModuleStats.zeros(0, LinearKind.Q_PROJ, first.start(), first.end(), 700, gradAct));
        assertThat(rec.length).isLessThanOrEqualTo(200_000);
    }

    @Test
    void planningFailsClearlyWhenOneRowDoesNotFit() {
        assertThatThrownBy(() -> RowBlockPlanner.plan(10, 100_000, StatKinds.of(StatKind.GRAD), 100_000))
                .isInstanceOf(GblmException.class).hasMessageContaining("one row needs 800044 bytes");
        assertThatThrownBy(() -> RowBlockPlanner.plan(4096, 4096, StatKinds.of(StatKind.HESSIAN), 1 << 20))
                .isInstanceOf(GblmException.class).hasMessageContaining("Hessian alone takes 67108864 bytes");
    }
}
