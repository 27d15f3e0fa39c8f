package dev.gblm.stream.worker;

import dev.gblm.stream.InvalidSampleException;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.Topics;
import dev.gblm.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * Turns a raw calibration record into the token ids a worker feeds the model, or a rejection with a stable reason
 * code (metric tag, dead-letter header) and a readable message. Pure: no I/O, no engine.
 *
 * <p>Text samples become BOS + tokenizer.encode(text), truncated to {@code seqLen}; token samples are taken as
 * given (the producer chose BOS or not), validated against the vocabulary and truncated to {@code seqLen}. Fewer
 * than two tokens leave no next-token target, so such a sample is rejected rather than silently skipped.
 */
public final class SampleDecoder {
    /** The outcome for one record. */
    public sealed interface Result permits Accepted, Rejected {}

    public record Accepted(int[] tokens) implements Result {}

    public record Rejected(String reason, String message) implements Result {
        /** The dead-letter header text: {@code code: message}. */
        public String describe() {
            return Topics.deadLetterReason(reason, message);
        }
    }

    private final Tokenizer tokenizer;
    private final int vocabSize;
    private final int seqLen;

    /** @param tokenizer null when the model has none: text samples are then rejected */
    public SampleDecoder(Tokenizer tokenizer, int vocabSize, int seqLen) {
        if (seqLen < 2) {
            throw new IllegalArgumentException("seqLen must be >= 2: " + seqLen);
        }
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.seqLen = seqLen;
    }

    public Result decode(byte[] key, byte[] value, String formatHeader) {
        SampleRecord s;
        try {
            s = SampleRecord.decode(key, value, formatHeader);
        } catch (InvalidSampleException e) {
            return new Rejected(e.reason(), e.getMessage());
        }
        int[] ids;
        if (s.text() != null) {
            if (tokenizer == null) {
                return new Rejected("no-tokenizer", "text sample but the worker has no tokenizer (send token ids)");
            }
            int[] body = tokenizer.encode(s.text());
            int n = Math.min(seqLen, body.length + 1);
            ids = new int[n];
            ids[0] = tokenizer.bosId();
            System.arraycopy(body, 0, ids, 1, n - 1);
        } else {
            int[] t = s.tokens();
            for (int i = 0; i < t.length; i++) {
                if (t[i] >= vocabSize) {
                    return new Rejected("token-out-of-range",
                            "token " + i + " has id " + t[i] + ", the model's vocabulary has " + vocabSize + " ids");
                }
            }
            ids = t.length > seqLen ? Arrays.copyOf(t, seqLen) : t;
        }
        if (ids.length < 2) {
            return new Rejected("too-few-tokens",
                    "sample has " + ids.length + " token(s) after tokenization; at least 2 are needed for a next-token loss");
        }
        return new Accepted(ids);
    }
}
