package dev.gblm.eval;

import dev.gblm.GblmException;
import dev.gblm.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Turns an evaluation text into token sequences, by the protocols of shared/data/README.md. */
public final class EvalProtocols {
    private EvalProtocols() {}

    /** Documents of a text: split on blank lines, each stripped, empty ones dropped. */
    public static List<String> chunks(String text) {
        List<String> out = new ArrayList<>();
        for (String c : text.replace("\r\n", "\n").split("\n\\s*\n")) {
            String s = c.strip();
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * Chunk protocol: chunks {@code offset .. offset+max-1}; each {@code [BOS] + encode(chunk)}
     * truncated to {@code context + 1} tokens. Chunks shorter than two tokens are skipped.
     */
    public static List<int[]> chunkSequences(String text, Tokenizer tok, int context, int offset, int max) {
        List<String> cs = chunks(text);
        List<int[]> out = new ArrayList<>();
        for (int i = offset; i < cs.size() && out.size() < max; i++) {
            int[] ids = withBos(tok, cs.get(i));
            if (ids.length > context + 1) {
                ids = Arrays.copyOf(ids, context + 1);
            }
            if (ids.length >= 2) {
                out.add(ids);
            }
        }
        return out;
    }

    /**
     * WikiText-2 as the pruning papers evaluate it: rows of wiki.test.raw (each keeping its newline; a
     * blank " " line is an empty row) joined by "\n\n", tokenized once with one BOS in front (as the
     * Hugging Face LLaMA tokenizer does), cut into non-overlapping windows of {@code seqLen}; the short
     * tail is dropped.
     */
    public static List<int[]> wikitextWindows(String raw, Tokenizer tok, int seqLen, int offset, int max) {
        String joined = String.join("\n\n", wikitextRows(raw));
        int[] ids = withBos(tok, joined);
        List<int[]> out = new ArrayList<>();
        int windows = ids.length / seqLen;
        for (int w = offset; w < windows && out.size() < max; w++) {
            out.add(Arrays.copyOfRange(ids, w * seqLen, (w + 1) * seqLen));
        }
        return out;
    }

    /** The Hugging Face dataset rows of a raw WikiText file. */
    static List<String> wikitextRows(String raw) {
        List<String> rows = new ArrayList<>();
        int i = 0;
        while (i < raw.length()) {
            int nl = raw.indexOf('\n', i);
            String line = nl < 0 ? raw.substring(i) : raw.substring(i, nl + 1);
            rows.add(line.equals(" \n") || line.equals(" ") ? "" : line);
            i = nl < 0 ? raw.length() : nl + 1;
        }
        return rows;
    }

    private static int[] withBos(Tokenizer tok, String text) {
        int[] enc = tok.encode(text);
        int[] ids = new int[enc.length + 1];
        ids[0] = tok.bosId();
        System.arraycopy(enc, 0, ids, 1, enc.length);
        return ids;
    }

    public static void requireSome(List<int[]> seqs, String what) {
        if (seqs.isEmpty()) {
            throw new GblmException("no evaluable text in " + what + " (need at least two tokens)");
        }
    }
}
