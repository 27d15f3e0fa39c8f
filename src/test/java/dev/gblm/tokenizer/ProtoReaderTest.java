package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ProtoReaderTest {

    @Test
    void readsScalarsStringsNestedMessagesAndSkipsUnknownFields() {
        byte[] bytes = new ProtoWriter()
                .varint(1, 300)
                .varint(2, -1) // int32 -1 is sign-extended to ten bytes
                .fixed32(3, 1.5f)
                .string(4, "▁Führer")
                .message(5, new ProtoWriter().varint(7, 1))
                .varint(99, 5)
                .toByteArray();
        ProtoReader r = new ProtoReader(bytes);
        assertThat(r.next()).isTrue();
        assertThat(r.field()).isEqualTo(1);
        assertThat(r.readInt32()).isEqualTo(300);
        assertThat(r.next()).isTrue();
        assertThat(r.readInt32()).isEqualTo(-1);
        assertThat(r.next()).isTrue();
        assertThat(r.readFloat()).isEqualTo(1.5f);
        assertThat(r.next()).isTrue();
        assertThat(r.readString()).isEqualTo("▁Führer");
        assertThat(r.next()).isTrue();
        ProtoReader sub = r.readMessage();
        assertThat(sub.next()).isTrue();
        assertThat(sub.field()).isEqualTo(7);
        assertThat(sub.readBool()).isTrue();
        assertThat(sub.next()).isFalse();
        assertThat(r.next()).isTrue();
        assertThat(r.field()).isEqualTo(99);
        r.skip();
        assertThat(r.next()).isFalse();
    }

    @Test
    void truncatedLengthDelimitedFieldIsRejected() {
        byte[] bytes = new ProtoWriter().string(1, "hello").toByteArray();
        ProtoReader r = new ProtoReader(Arrays.copyOf(bytes, bytes.length - 2));
        assertThat(r.next()).isTrue();
        assertThatThrownBy(r::readString).isInstanceOf(ProtoReader.MalformedProtoException.class)
                .hasMessageContaining("truncated");
    }

    @Test
    void unsupportedWireTypeIsRejected() {
        ProtoReader r = new ProtoReader(new byte[] {(byte) ((1 << 3) | 3)}); // group start: proto2 groups unsupported
        assertThatThrownBy(r::next).isInstanceOf(ProtoReader.MalformedProtoException.class)
                .hasMessageContaining("wire type 3");
    }

    @Test
    void wrongWireTypeForAFieldIsRejected() {
        ProtoReader r = new ProtoReader(new ProtoWriter().varint(1, 5).toByteArray());
        assertThat(r.next()).isTrue();
        assertThatThrownBy(r::readString).isInstanceOf(ProtoReader.MalformedProtoException.class);
    }

    @Test
    void unterminatedVarintIsRejected() {
        ProtoReader r = new ProtoReader(new byte[] {(byte) 0x80, (byte) 0x80});
        assertThatThrownBy(r::next).isInstanceOf(ProtoReader.MalformedProtoException.class);
    }
}
