package dev.gblm.prune.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.GblmException;
import dev.gblm.prune.Mask;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** masks.safetensors: the documented row packing, a valid safetensors layout, round trip. */
class MaskSafetensorsTest {
    static Mask randomMask(Random rnd, int rows, int cols) {
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
    void eachRowIsPackedLsbFirstWithZeroPadding() {
        Mask m = new Mask(2, 10);
        m.prune(0, 0);
        m.prune(0, 9);
        m.prune(1, 1);
        m.prune(1, 8);
        // row 0: byte0 bit0, byte1 bit1; row 1: byte0 bit1, byte1 bit0
        assertThat(MaskSafetensors.packRows(m)).containsExactly(0x01, 0x02, 0x02, 0x01);
        assertThat(MaskSafetensors.unpackRows(2, 10, MaskSafetensors.packRows(m))).isEqualTo(m);
        assertThatThrownBy(() -> MaskSafetensors.unpackRows(2, 10, new byte[] {0, 0x04, 0, 0}))
                .isInstanceOf(GblmException.class).hasMessageContaining("padding");
    }

    @Test
    void roundTripAndLayout(@TempDir Path dir) throws IOException {
        Random rnd = new Random(3);
        Map<String, Mask> masks = new LinkedHashMap<>();
        masks.put("model.layers.0.self_attn.q_proj.weight", randomMask(rnd, 7, 13));
        masks.put("model.layers.0.mlp.down_proj.weight", randomMask(rnd, 9, 64));
        masks.put("model.layers.1.mlp.up_proj.weight", randomMask(rnd, 1, 1));
        Path f = dir.resolve("masks.safetensors");
        MaskSafetensors.write(f, masks);
        assertThat(MaskSafetensors.read(f)).containsExactlyEntriesOf(masks);

        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertThat(n % 8).isZero();
        JsonNode h = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
        h.get("__metadata__").forEach(v -> assertThat(v.isTextual()).isTrue());
        assertThat(h.get("model.layers.0.self_attn.q_proj.weight").get("shape").toString()).isEqualTo("[7,2]");
        assertThat(h.get("model.layers.0.self_attn.q_proj.weight").get("dtype").asText()).isEqualTo("U8");
        assertThat(all.length).isEqualTo(8 + n + 7 * 2 + 9 * 8 + 1);
        assertThat(Arrays.copyOfRange(all, (int) (8 + n), (int) (8 + n + 14)))
                .isEqualTo(MaskSafetensors.packRows(masks.get("model.layers.0.self_attn.q_proj.weight")));
    }
}
