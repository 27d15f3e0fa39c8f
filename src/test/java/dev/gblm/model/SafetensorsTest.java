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

    /**
     * Multi-window mapping through the test seam: with a 40-byte window the small tensors share windows, every
     * tensor over 40 bytes (e.g. the 2x3x4 F32 one, 96 bytes) is mapped as several pieces and becomes a multi-chunk
     * tensor, i.e. a tensor spanning windows. Values, bytes and a rewritten file are identical to the source.
     */
    @Test
    void smallWindowsMapTensorsInPiecesAndReadThemWhole() throws Exception {
        List<TensorData> ts = new ArrayList<>(randomTensors(4));
        // an odd BF16 count puts the next F32 tensor at an offset that is not a multiple of 4: pieces must still
        // hold whole elements of their own tensor
        ts.add(1, new TensorData("odd", DType.BF16, new long[] {37}, ByteBuffer.wrap(new byte[74])));
        Path a = dir.resolve("a.safetensors");
        SafetensorsWriter.write(a, ts);
        Map<String, TensorData> whole = SafetensorsReader.read(a);
        Map<String, TensorData> windowed = SafetensorsReader.read(a, 40);
        int multiChunk = 0;
        for (TensorData t : ts) {
            TensorData w = windowed.get(t.name());
            assertThat(w.byteSize()).isEqualTo(t.byteSize());
            assertThat(w.chunks()).allSatisfy(c -> assertThat(c.remaining()).isLessThanOrEqualTo(40));
            if (t.byteSize() > 40) {
                assertThat(w.chunks()).as(t.name()).hasSizeGreaterThan(1);
                multiChunk++;
            }
            assertThat(concat(w.chunks())).isEqualTo(concat(t.chunks()));
            assertThat(w.toFloats()).containsExactly(whole.get(t.name()).toFloats());
            // a range that starts inside one piece and ends inside another
            long n = w.numel();
            if (n > 3) {
                assertThat(w.toFloats(1, (int) n - 2)).containsExactly(whole.get(t.name()).toFloats(1, (int) n - 2));
            }
        }
        assertThat(multiChunk).isEqualTo(5);
        Path b = dir.resolve("b.safetensors");
        SafetensorsWriter.write(b, windowed.values());
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
        assertThatThrownBy(() -> SafetensorsReader.read(a, 4)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shardedWriterSplitsByShardSizeAndReadsBack() throws Exception {
        List<TensorData> ts = randomTensors(5);
        List<String> files = SafetensorsWriter.writeSharded(dir,
                ts.stream().map(SafetensorsWriter.Entry::of).toList(), 100);
        assertThat(files).last().isEqualTo("model.safetensors.index.json");
        assertThat(files.size()).isGreaterThan(3);
        assertThat(files.get(0)).isEqualTo(String.format("model-00001-of-%05d.safetensors", files.size() - 1));
        for (String f : files.subList(0, files.size() - 1)) {
            // each shard holds at most 100 bytes of tensor data unless one tensor alone is larger
            Map<String, TensorData> shard = SafetensorsReader.read(dir.resolve(f));
            long bytes = shard.values().stream().mapToLong(TensorData::byteSize).sum();
            assertThat(bytes <= 100 || shard.size() == 1).as(f).isTrue();
        }
        Map<String, TensorData> loaded = SafetensorsReader.readIndex(dir.resolve("model.safetensors.index.json"), 16);
        assertThat(loaded.keySet()).containsExactlyInAnyOrderElementsOf(ts.stream().map(TensorData::name).toList());
        for (TensorData t : ts) {
            assertThat(concat(loaded.get(t.name()).chunks())).isEqualTo(concat(t.chunks()));
        }
        String index = Files.readString(dir.resolve("model.safetensors.index.json"));
        long total = ts.stream().mapToLong(TensorData::byteSize).sum();
        assertThat(index).contains("\"total_size\" : " + total, "\"weight_map\"");
        // everything in one shard: a plain model.safetensors, no index
        Path one = dir.resolve("one");
        Files.createDirectories(one);
        assertThat(SafetensorsWriter.writeSharded(one, ts.stream().map(SafetensorsWriter.Entry::of).toList(), 1L << 30))
                .containsExactly("model.safetensors");
    }

    private static byte[] concat(List<ByteBuffer> chunks) {
        int n = chunks.stream().mapToInt(ByteBuffer::remaining).sum();
        ByteBuffer all = ByteBuffer.allocate(n);
        chunks.forEach(c -> all.put(c.duplicate()));
        return all.array();
    }
}
