package dev.gblm.prune.batch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.GblmException;
import dev.gblm.eval.EvalProtocols;
import dev.gblm.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Calibration samples from a text: documents separated by blank lines, or JSON Lines with a {@code text}
 * field. Each sample is {@code [BOS] + encode(document)} truncated to {@code seqLen} tokens; documents giving
 * fewer than two tokens (nothing to predict) are skipped and counted, and the next documents are taken
 * instead, so a run gets {@code maxSamples} samples whenever the file has that many usable documents.
 *
 * @param samples the token sequences, in document order
 * @param documentsRead documents looked at (used plus skipped)
 * @param skipped documents skipped for having fewer than two tokens
 */
public record CalibrationSet(List<int[]> samples, int documentsRead, int skipped) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public long tokens() {
        long t = 0;
        for (int[] s : samples) {
            t += s.length;
        }
        return t;
    }

    /** JSON Lines when the name ends in {@code .jsonl} or the first non-blank character is '{'. */
    public static boolean isJsonLines(String fileName, String content) {
        if (fileName != null && fileName.toLowerCase(Locale.ROOT).endsWith(".jsonl")) {
            return true;
        }
        for (int i = 0; i < content.length(); i++) {
            char c = content.charAt(i);
            if (!Character.isWhitespace(c) && c != '\uFEFF') {
                return c == '{';
            }
        }
        return false;
    }

    /** The documents of a calibration text, in order. */
    public static List<String> documents(String content, boolean jsonLines) {
        if (!jsonLines) {
            return EvalProtocols.chunks(content);
        }
        List<String> docs = new ArrayList<>();
        String[] lines = content.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new GblmException("calibration file line " + (i + 1) + " is not valid JSON");
            }
            JsonNode text = n == null ? null : n.get("text");
            if (text == null || !text.isTextual()) {
                throw new GblmException("calibration file line " + (i + 1) + " has no string field \"text\"");
            }
            docs.add(text.asText());
        }
        return docs;
    }

    /** Tokenizes documents into at most {@code maxSamples} samples of at most {@code seqLen} tokens. */
    public static CalibrationSet build(List<String> documents, Tokenizer tok, int maxSamples, int seqLen) {
        if (maxSamples <= 0) {
            throw new GblmException("the number of calibration samples must be positive, got " + maxSamples);
        }
        if (seqLen < 2) {
            throw new GblmException("the calibration sequence length must be at least 2, got " + seqLen);
        }
        List<int[]> samples = new ArrayList<>();
        int read = 0;
        int skipped = 0;
        for (String doc : documents) {
            if (samples.size() >= maxSamples) {
                break;
            }
            read++;
            int[] enc = tok.encode(doc);
            int[] ids = new int[Math.min(enc.length + 1, seqLen)];
            ids[0] = tok.bosId();
            System.arraycopy(enc, 0, ids, 1, ids.length - 1);
            if (ids.length < 2) {
                skipped++;
            } else {
                samples.add(ids);
            }
        }
        return new CalibrationSet(List.copyOf(samples), read, skipped);
    }

    @Override
    public String toString() {
        return "CalibrationSet[" + samples.size() + " samples, " + tokens() + " tokens, " + skipped + " skipped]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CalibrationSet c && c.documentsRead == documentsRead && c.skipped == skipped
                && c.samples.size() == samples.size()
                && java.util.stream.IntStream.range(0, samples.size()).allMatch(i -> Arrays.equals(c.samples.get(i), samples.get(i)));
    }

    @Override
    public int hashCode() {
        return 31 * documentsRead + skipped;
    }
}
