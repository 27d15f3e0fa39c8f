package dev.gblm.tokenizer;

import dev.gblm.GblmException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The llama2.c {@code tokenizer.bin} BPE: int32 max token length, then per token a float32 score,
 * an int32 byte length and the bytes. Ids 0..2 are {@code <unk>, <s>, </s>}; 3..258 the byte
 * fallback tokens {@code <0x00>..<0xFF>}.
 *
 * <p>Pieces are handled as Latin-1 strings of their raw bytes, so string concatenation equals byte
 * concatenation exactly, whatever the pieces contain.
 */
public final class Llama2cTokenizer implements Tokenizer {
    private static final int BYTE_FALLBACK_OFFSET = 3;

    private final String[] pieces; // raw bytes as Latin-1
    private final float[] scores;
    private final Map<String, Integer> ids = new HashMap<>();

    Llama2cTokenizer(String[] pieces, float[] scores) {
        this.pieces = pieces;
        this.scores = scores;
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(pieces[i], i);
        }
    }

    public static Llama2cTokenizer load(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new GblmException("cannot read tokenizer " + file + ": " + e.getMessage());
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        try {
            int maxLen = b.getInt();
            if (maxLen <= 0 || maxLen > 1024) {
                throw new GblmException("not a llama2.c tokenizer.bin: " + file);
            }
            java.util.List<String> ps = new java.util.ArrayList<>();
            java.util.List<Float> ss = new java.util.ArrayList<>();
            while (b.hasRemaining()) {
                float score = b.getFloat();
                int len = b.getInt();
                if (len < 0 || len > maxLen || len > b.remaining()) {
                    throw new GblmException("not a llama2.c tokenizer.bin (bad token length " + len + "): " + file);
                }
                byte[] raw = new byte[len];
                b.get(raw);
                ps.add(new String(raw, StandardCharsets.ISO_8859_1));
                ss.add(score);
            }
            if (ps.size() < BYTE_FALLBACK_OFFSET + 256) {
                throw new GblmException("not a llama2.c tokenizer.bin (only " + ps.size() + " tokens): " + file);
            }
            float[] scores = new float[ss.size()];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = ss.get(i);
            }
            return new Llama2cTokenizer(ps.toArray(new String[0]), scores);
        } catch (java.nio.BufferUnderflowException e) {
            throw new GblmException("not a llama2.c tokenizer.bin (truncated): " + file);
        }
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        // initial symbols: dummy prefix " ", then one per UTF-8 character (or per byte as fallback)
        int[] tok = new int[utf8.length + 1];
        int n = 0;
        Integer space = ids.get(" ");
        if (space != null) {
            tok[n++] = space;
        }
        int i = 0;
        while (i < utf8.length) {
            int len = utf8CharLength(utf8, i);
            String ch = new String(utf8, i, len, StandardCharsets.ISO_8859_1);
            Integer id = ids.get(ch);
            if (id != null) {
                tok[n++] = id;
            } else {
                for (int j = 0; j < len; j++) {
                    tok[n++] = (utf8[i + j] & 0xff) + BYTE_FALLBACK_OFFSET;
                }
            }
            i += len;
        }
        return merge(tok, n);
    }

    /**
     * Greedy BPE: repeatedly merge the adjacent pair whose concatenation has the highest score,
     * leftmost on ties (as llama2.c's linear scan). A heap over pairs with lazy invalidation gives
     * the same sequence of merges in O(n log n).
     */
    private int[] merge(int[] tok, int n) {
        int[] prev = new int[n];
        int[] next = new int[n];
        int[] version = new int[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        // entries: left position, score, merged id, version of left, version of right
        PriorityQueue<long[]> heap = new PriorityQueue<>((a, b) -> {
            int c = Float.compare(Float.intBitsToFloat((int) b[1]), Float.intBitsToFloat((int) a[1]));
            return c != 0 ? c : Long.compare(a[0], b[0]);
        });
        for (int i = 0; i + 1 < n; i++) {
            offer(heap, tok, version, i, i + 1);
        }
        boolean[] dead = new boolean[n];
        while (!heap.isEmpty()) {
            long[] e = heap.poll();
            int l = (int) e[0];
            int r = (int) e[4];
            if (dead[l] || r < 0 || dead[r] || next[l] != r || version[l] != e[3] || version[r] != e[5]) {
                continue;
            }
            tok[l] = (int) e[2];
            version[l]++;
            dead[r] = true;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            if (prev[l] >= 0) {
                offer(heap, tok, version, prev[l], l);
            }
            if (next[l] >= 0) {
                offer(heap, tok, version, l, next[l]);
            }
        }
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (!dead[i]) {
                count++;
            }
        }
        int[] out = new int[count];
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (!dead[i]) {
                out[k++] = tok[i];
            }
        }
        return out;
    }

    private void offer(PriorityQueue<long[]> heap, int[] tok, int[] version, int l, int r) {
        Integer id = ids.get(pieces[tok[l]] + pieces[tok[r]]);
        if (id != null) {
            heap.add(new long[] {l, Float.floatToRawIntBits(scores[id]), id, version[l], r, version[r]});
        }
    }

    private static int utf8CharLength(byte[] b, int i) {
        int c = b[i] & 0xff;
        int len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        int end = Math.min(b.length, i + len);
        for (int j = i + 1; j < end; j++) {
            if ((b[j] & 0xc0) != 0x80) {
                return j - i;
            }
        }
        return end - i;
    }

    @Override
    public String decode(int[] idsToDecode) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean first = true;
        for (int id : idsToDecode) {
            if (id == bosId() || id == eosId()) {
                continue;
            }
            if (id < 0 || id >= pieces.length) {
                throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + pieces.length);
            }
            String p = pieces[id];
            if (id >= BYTE_FALLBACK_OFFSET && id < BYTE_FALLBACK_OFFSET + 256 && p.length() == 6 && p.startsWith("<0x")) {
                out.write(id - BYTE_FALLBACK_OFFSET);
            } else {
                // the dummy-prefix space of the first piece is not part of the text (llama2.c strips it after BOS)
                byte[] raw = p.getBytes(StandardCharsets.ISO_8859_1);
                int from = first && raw.length > 0 && raw[0] == ' ' ? 1 : 0;
                out.write(raw, from, raw.length - from);
            }
            first = false;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The text of one token as it continues a sequence (for streaming generation output). */
    public String piece(int id) {
        return pieces[id];
    }

    @Override
    public int bosId() {
        return 1;
    }

    @Override
    public int eosId() {
        return 2;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }
}
