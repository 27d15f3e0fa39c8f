package dev.gblm.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {
    @TempDir
    Path dir;

    private static List<TensorData> randomTensors(long seed) {
        Random rnd = new Random(seed);
        List<TensorData> ts = new ArrayList<>();
        int i = 0;
        for (DType d : DType.values()) {
            for (long[] shape : new long[][] {{3, 5}, {7}, {2, 3, 4}}) {
                byte[] raw = new byte[(int) (TensorData.numel(shape) * d.bytes())];
                rnd.nextBytes(raw);
                ts.add(new TensorData("t" + (i++) + "." + d, d, shape, ByteBuffer.wrap(raw)));
            }
        }
        return ts;
    }

    @Test
    void loadWriteLoadIsBitIdenticalForEveryDtype() throws Exception {
        List<TensorData> ts = randomTensors(1);
        Path a = dir.resolve("a.safetensors");
        SafetensorsWriter.write(a, ts);
        Map<String, TensorData> loaded = SafetensorsReader.read(a);
        Path b = dir.resolve("b.safetensors");
        SafetensorsWriter.write(b, loaded.values());
        Map<String, TensorData> again = SafetensorsReader.read(b);

        assertThat(again.keySet()).containsExactlyElementsOf(ts.stream().map(TensorData::name).toList());
        for (TensorData t : ts) {
            TensorData u = again.get(t.name());
            assertThat(u.dtype()).isEqualTo(t.dtype());
            assertThat(u.shape()).containsExactly(t.shape());
            assertThat(u.bytes()).isEqualTo(t.bytes());
        }
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
    }

    @Test
    void headerFollowsHuggingFaceLayout() throws Exception {
        Path a = dir.resolve("a.safetensors");
        SafetensorsWriter.write(a, randomTensors(2));
        byte[] all = Files.readAllBytes(a);
        long len = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(len % 8).isZero();
        String header = new String(all, 8, (int) len, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{\"__metadata__\":{\"format\":\"pt\"}");
        assertThat(header).contains("\"dtype\":\"BF16\"", "\"data_offsets\":[0,");
    }

    @Test
    void shardedIndexLoadsAllShards() throws Exception {
        List<TensorData> ts = randomTensors(3);
        SafetensorsWriter.write(dir.resolve("model-00001-of-00002.safetensors"), ts.subList(0, 4));
        SafetensorsWriter.write(dir.resolve("model-00002-of-00002.safetensors"), ts.subList(4, ts.size()));
        StringBuilder map = new StringBuilder("{\"metadata\":{},\"weight_map\":{");
        for (int i = 0; i < ts.size(); i++) {
            map.append(i == 0 ? "" : ",").append('"').append(ts.get(i).name()).append("\":\"model-0000")
                    .append(i < 4 ? 1 : 2).append("-of-00002.safetensors\"");
        }
        map.append("}}");
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, map);
        Map<String, TensorData> loaded = SafetensorsReader.readIndex(index);
        assertThat(loaded).hasSize(ts.size());
        for (TensorData t : ts) {
            assertThat(loaded.get(t.name()).bytes()).isEqualTo(t.bytes());
        }
    }

    @Test
    void garbageIsRejectedWithAClearMessage() throws Exception {
        Path f = dir.resolve("x.safetensors");
        Files.writeString(f, "this is not a safetensors file at all");
        assertThatThrownBy(() -> SafetensorsReader.read(f)).isInstanceOf(GblmException.class)
                .hasMessageContaining("not a safetensors file");
    }

    /** A file with the given header entries (JSON, without braces) over {@code dataBytes} zero bytes. */
    private Path handMade(String entries, int dataBytes) throws Exception {
        byte[] header = ("{" + entries + "}").getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        Path f = dir.resolve("hand.safetensors");
        Files.write(f, b.array());
        return f;
    }

    @Test
    void overlappingTensorsAreRefusedNamingBoth() throws Exception {
        // b starts inside a: reading b would silently return the tail of a's weights
        Path f = handMade("\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}", 32);
        assertThatThrownBy(() -> SafetensorsReader.read(f)).isInstanceOf(GblmException.class)
                .hasMessageContaining("'a' [0, 16)").hasMessageContaining("'b' [8, 24)").hasMessageContaining("overlap");
        // the same bytes named twice are an overlap too; empty tensors occupy nothing
        Path g = handMade("\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8);
        assertThatThrownBy(() -> SafetensorsReader.read(g)).isInstanceOf(GblmException.class)
                .hasMessageContaining("'x' [0, 8)").hasMessageContaining("'y' [0, 8)").hasMessageNotContaining("'e'");
    }

    @Test
    void adjacentAndEmptyTensorsAreAccepted() throws Exception {
        Path f = handMade("\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}", 16);
        assertThat(SafetensorsReader.read(f)).containsOnlyKeys("a", "e", "b");
    }

    @Test
    void offsetsOutsideTheDataSectionAreRefused() throws Exception {
        Path past = handMade("\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}", 16);
        assertThatThrownBy(() -> SafetensorsReader.read(past)).isInstanceOf(GblmException.class)
                .hasMessageContaining("'w'").hasMessageContaining("[8, 24)")
                .hasMessageContaining("past the data section of 16 bytes");
        Path negative = handMade("\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[-16,0]}", 16);
        assertThatThrownBy(() -> SafetensorsReader.read(negative)).isInstanceOf(GblmException.class)
                .hasMessageContaining("'w'").hasMessageContaining("not a range");
        Path missing = handMade("\"w\":{\"dtype\":\"F32\",\"shape\":[4]}", 16);
        assertThatThrownBy(() -> SafetensorsReader.read(missing)).isInstanceOf(GblmException.class)
                .hasMessageContaining("'w'").hasMessageContaining("data_offsets");
        Path wrongSize = handMade("\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}", 16);
        assertThatThrownBy(() -> SafetensorsReader.read(wrongSize)).isInstanceOf(GblmException.class)
                .hasMessageContaining("'w'").hasMessageContaining("needs 16");
    }
}
