package dev.gblm.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * A minimal reader of the protobuf wire format, enough to walk a SentencePiece model without a
 * protobuf dependency. Every read is bounds-checked: a truncated or corrupt message raises
 * {@link MalformedProtoException} instead of reading garbage.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    /** Thrown for bytes that are not a well-formed protobuf message. */
    static final class MalformedProtoException extends RuntimeException {
        MalformedProtoException(String message) {
            super(message);
        }
    }

    private final byte[] buf;
    private final int end;
    private int pos;
    private int tag;

    ProtoReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    private ProtoReader(byte[] buf, int start, int end) {
        this.buf = buf;
        this.pos = start;
        this.end = end;
    }

    /** Advances to the next field; returns false at the end of the message. */
    boolean next() {
        if (pos >= end) {
            return false;
        }
        long t = readVarint();
        int field = (int) (t >>> 3);
        int wire = (int) (t & 7);
        if (field <= 0 || t >>> 3 > Integer.MAX_VALUE) {
            throw new MalformedProtoException("invalid field number " + (t >>> 3) + " at byte " + pos);
        }
        if (wire != VARINT && wire != FIXED64 && wire != LENGTH_DELIMITED && wire != FIXED32) {
            throw new MalformedProtoException("unsupported wire type " + wire + " at byte " + pos);
        }
        tag = (int) t;
        return true;
    }

    int field() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long readVarint() {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            require(1);
            byte b = buf[pos++];
            result |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw new MalformedProtoException("varint longer than 10 bytes at byte " + pos);
    }

    /** An int32 field (negative values are sign-extended to 10 bytes on the wire). */
    int readInt32() {
        expect(VARINT);
        return (int) readVarint();
    }

    boolean readBool() {
        expect(VARINT);
        return readVarint() != 0;
    }

    float readFloat() {
        expect(FIXED32);
        require(4);
        int bits = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8 | (buf[pos + 2] & 0xff) << 16 | (buf[pos + 3] & 0xff) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    String readString() {
        int len = readLength();
        String s = new String(buf, pos, len, StandardCharsets.UTF_8);
        pos += len;
        return s;
    }

    /** A reader over the embedded message of the current length-delimited field. */
    ProtoReader readMessage() {
        int len = readLength();
        ProtoReader sub = new ProtoReader(buf, pos, pos + len);
        pos += len;
        return sub;
    }

    void skip() {
        switch (wireType()) {
            case VARINT -> readVarint();
            case FIXED64 -> advance(8);
            case FIXED32 -> advance(4);
            case LENGTH_DELIMITED -> advance(readLength());
            default -> throw new MalformedProtoException("unsupported wire type " + wireType());
        }
    }

    private int readLength() {
        expect(LENGTH_DELIMITED);
        long len = readVarint();
        if (len < 0 || len > end - pos) {
            throw new MalformedProtoException("truncated or corrupt: a field length of " + len + " runs past the end of the message at byte " + pos);
        }
        return (int) len;
    }

    private void advance(int n) {
        require(n);
        pos += n;
    }

    private void require(int n) {
        if (n > end - pos) {
            throw new MalformedProtoException("message truncated at byte " + pos);
        }
    }

    private void expect(int wire) {
        if (wireType() != wire) {
            throw new MalformedProtoException(
                    "field " + field() + " has wire type " + wireType() + ", expected " + wire);
        }
    }
}
