package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.testing.TestData;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class Llama2cTokenizerTest {

    /** The merge loop exactly as llama2.c writes it: O(n^2), leftmost best pair each round. */
    private static int[] naiveEncode(Llama2cTokenizer tok, String text) {
        List<Integer> ids = new ArrayList<>();
        java.util.Map<String, Integer> vocab = new java.util.HashMap<>();
        for (int i = tok.vocabSize() - 1; i >= 0; i--) {
            vocab.put(tok.piece(i), i);
        }
        ids.add(vocab.get(" "));
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        String s = new String(b, StandardCharsets.ISO_8859_1);
        int i = 0;
        while (i < b.length) {
            int j = i + 1;
            while (j < b.length && (b[j] & 0xc0) == 0x80 && j - i < 4) {
                j++;
            }
            Integer id = vocab.get(s.substring(i, j));
            if (id != null) {
                ids.add(id);
            } else {
                for (int k = i; k < j; k++) {
                    ids.add((b[k] & 0xff) + 3);
                }
            }
            i = j;
        }
        float[] scores = scoresOf(tok);
        while (true) {
            float best = -1e10f;
            int bestIdx = -1;
            int bestId = -1;
            for (int k = 0; k + 1 < ids.size(); k++) {
                Integer id = vocab.get(tok.piece(ids.get(k)) + tok.piece(ids.get(k + 1)));
                if (id != null && scores[id] > best) {
                    best = scores[id];
                    bestIdx = k;
                    bestId = id;
                }
            }
            if (bestIdx < 0) {
                break;
            }
            ids.set(bestIdx, bestId);
            ids.remove(bestIdx + 1);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static float[] scoresOf(Llama2cTokenizer tok) {
        // scores are not exposed; re-read them from the file layout
        try {
            byte[] all = java.nio.file.Files.readAllBytes(TestData.require("models/tok512.bin"));
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(all).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            bb.getInt();
            float[] s = new float[tok.vocabSize()];
            for (int i = 0; i < s.length; i++) {
                s[i] = bb.getFloat();
                int len = bb.getInt();
                bb.position(bb.position() + len);
            }
            return s;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void heapMergeEqualsLlama2cLinearScan() throws Exception {
        Llama2cTokenizer tok = Llama2cTokenizer.load(TestData.require("models/tok512.bin"));
        String corpus = java.nio.file.Files.readString(TestData.require("corpora/tinystories_val_head.txt"));
        Random rnd = new Random(1);
        for (int i = 0; i < 200; i++) {
            int a = rnd.nextInt(corpus.length() - 300);
            String text = corpus.substring(a, a + rnd.nextInt(300));
            if (i % 10 == 0) {
                text = text + " héllo wörld – ünïcode 🙂 字";
            }
            if (text.isEmpty()) {
                continue;
            }
            assertThat(tok.encode(text)).as(text).containsExactly(naiveEncode(tok, text));
            assertThat(tok.decode(tok.encode(text))).isEqualTo(text);
        }
    }

    @Test
    void knownShapes() {
        Llama2cTokenizer tok = Llama2cTokenizer.load(TestData.require("models/tok512.bin"));
        assertThat(tok.vocabSize()).isEqualTo(512);
        assertThat(tok.encode("")).isEmpty();
        // a character outside the vocabulary falls back to its UTF-8 bytes (id 3 + byte)
        int[] ids = tok.encode("字");
        assertThat(ids).contains(0xe5 + 3, 0xad + 3, 0x97 + 3);
        int[] withBos = new int[ids.length + 1];
        withBos[0] = tok.bosId();
        System.arraycopy(ids, 0, withBos, 1, ids.length);
        assertThat(tok.decode(withBos)).isEqualTo("字");
    }
}
