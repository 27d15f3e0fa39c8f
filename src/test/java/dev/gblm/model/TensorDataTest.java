package dev.gblm.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TensorDataTest {

    @Test
    void everyHalfValueSurvivesWideningAndNarrowing() {
        for (int h = 0; h < 65536; h++) {
            float f = Half.toFloat((short) h);
            if (Float.isNaN(f)) {
                assertThat(Float.isNaN(Half.toFloat(Half.fromFloat(f)))).isTrue();
                continue;
            }
            assertThat(Half.fromFloat(f) & 0xffff).as("half bits %04x", h).isEqualTo(h);
        }
    }

    @Test
    void halfRoundsToNearestEven() {
        // Reference: the nearest representable half by exhaustive search over the finite halves.
        Random rnd = new Random(7);
        for (int i = 0; i < 20000; i++) {
            float f = (float) ((rnd.nextDouble() * 2 - 1) * Math.pow(2, rnd.nextInt(40) - 26));
            short got = Half.fromFloat(f);
            double best = Double.MAX_VALUE;
            int bestBits = -1;
            for (int h = 0; h < 65536; h++) {
                float c = Half.toFloat((short) h);
                if (Float.isNaN(c) || Float.isInfinite(c)) {
                    continue;
                }
                double d = Math.abs((double) c - f);
                if (d < best || (d == best && (h & 1) == 0 && (bestBits & 1) == 1)) {
                    if (d == best && Math.signum(c) != Math.signum(f) && c != 0) {
                        continue;
                    }
                    best = d;
                    bestBits = h;
                }
            }
            assertThat((double) Math.abs(Half.toFloat(got) - f)).isEqualTo(best);
            if (i > 300) {
                break; // the exhaustive reference is slow; a few hundred values suffice
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0).
        assertThat(TensorData.floatToBf16(1f + 0x1p-8f)).isEqualTo((short) 0x3f80);
        // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up.
        assertThat(TensorData.floatToBf16(1f + 3 * 0x1p-8f)).isEqualTo((short) 0x3f82);
        assertThat(TensorData.floatToBf16(1f + 0x1p-8f + 0x1p-12f)).isEqualTo((short) 0x3f81);
    }

    @Test
    void fromFloatsThenToFloatsIsExactForRepresentableValues() {
        float[] v = {0f, -0f, 1f, -2.5f, 65504f, 0x1p-24f, 3.140625f};
        for (DType d : DType.values()) {
            float[] back = TensorData.fromFloats("t", d, new long[] {v.length}, v).toFloats();
            if (d == DType.BF16) {
                // BF16 has 8 mantissa bits: 65504 and 2^-24 aside, these are exact
                assertThat(back[3]).isEqualTo(-2.5f);
                assertThat(back[6]).isEqualTo(3.140625f);
            } else {
                assertThat(back).containsExactly(v);
            }
        }
    }

    @Test
    void aTensorOverSeveralChunksReadsAcrossTheirBoundaries() {
        float[] v = new float[23];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * 0.5f - 3;
        }
        for (DType d : DType.values()) {
            ByteBuffer all = TensorData.fromFloats("t", d, new long[] {23}, v).bytes();
            int w = d.bytes();
            // chunks of 5, 0, 1 and 17 elements: an empty chunk and a one-element chunk on the way
            List<ByteBuffer> chunks = List.of(all.duplicate().position(0).limit(5 * w).slice(),
                    ByteBuffer.allocate(0), all.duplicate().position(5 * w).limit(6 * w).slice(),
                    all.duplicate().position(6 * w).limit(23 * w).slice());
            TensorData t = new TensorData("t", d, new long[] {23}, chunks);
            assertThat(t.byteSize()).isEqualTo(23L * w);
            assertThat(t.toFloats()).containsExactly(TensorData.fromFloats("t", d, new long[] {23}, v).toFloats());
            assertThat(t.toFloats(4, 3)).containsExactly(Arrays.copyOfRange(t.toFloats(), 4, 7));
            assertThat(t.toFloats(5, 1)).containsExactly(t.toFloats()[5]);
            assertThat(t.renamed("u").toFloats()).containsExactly(t.toFloats());
            assertThatThrownBy(t::bytes).isInstanceOf(IllegalStateException.class).hasMessageContaining("chunks()");
        }
        ByteBuffer odd = ByteBuffer.allocate(6);
        assertThatThrownBy(() -> new TensorData("x", DType.F32, new long[] {1}, List.of(odd.slice(0, 2),
                odd.slice(2, 2)))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("splits");
    }
}
