package dev.gblm.stream.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.SampleRecord;
import dev.gblm.testing.CharTokenizer;
import dev.gblm.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SampleDecoderTest {
    static final int VOCAB = 64;

    /** One id per character (3 + code % 60), BOS 1: enough to see BOS, order and truncation. */
    static final Tokenizer CHARS = new CharTokenizer(c -> 3 + c % 60, VOCAB);

    final SampleDecoder decoder = new SampleDecoder(CHARS, VOCAB, 5);

    @Test
    void textBecomesBosPlusTokensTruncatedToSeqLen() {
        SampleRecord s = SampleRecord.ofText("abcdefgh");
        int[] want = {1, 3 + 'a' % 60, 3 + 'b' % 60, 3 + 'c' % 60, 3 + 'd' % 60};
        assertThat(accepted(decoder.decode(s.key(), s.value(), "text"))).containsExactly(want);
        SampleRecord shortText = SampleRecord.ofText("ab");
        assertThat(accepted(decoder.decode(shortText.key(), shortText.value(), null)))
                .containsExactly(1, 3 + 'a' % 60, 3 + 'b' % 60);
    }

    @Test
    void tokenSamplesAreTakenAsGivenAndTruncated() {
        SampleRecord s = SampleRecord.ofTokens(new int[] {7, 8, 9, 10, 11, 12, 63});
        assertThat(accepted(decoder.decode(s.key(), s.value(), "tokens"))).containsExactly(7, 8, 9, 10, 11);
        SampleRecord two = SampleRecord.ofTokens(new int[] {0, 63});
        assertThat(accepted(decoder.decode(two.key(), two.value(), "tokens"))).containsExactly(0, 63);
    }

    @Test
    void tokenIdOutsideTheVocabularyIsRejected() {
        SampleRecord s = SampleRecord.ofTokens(new int[] {1, 5, 64, 7});
        SampleDecoder.Rejected r = rejected(decoder.decode(s.key(), s.value(), "tokens"));
        assertThat(r.reason()).isEqualTo("token-out-of-range");
        assertThat(r.message()).contains("token 2", "id 64", "64 ids");
        // the check covers the whole document, not only the part kept after truncation
        SampleRecord late = SampleRecord.ofTokens(new int[] {1, 2, 3, 4, 5, 6, 99});
        assertThat(rejected(decoder.decode(late.key(), late.value(), "tokens")).reason()).isEqualTo("token-out-of-range");
    }

    @Test
    void fewerThanTwoTokensLeaveNoTargetAndAreRejected() {
        SampleRecord one = SampleRecord.ofTokens(new int[] {1});
        SampleDecoder.Rejected r = rejected(decoder.decode(one.key(), one.value(), "tokens"));
        assertThat(r.reason()).isEqualTo("too-few-tokens");
        assertThat(r.describe()).startsWith("too-few-tokens: ").contains("1 token(s)");
        // text that tokenizes to nothing leaves BOS alone
        Tokenizer silent = new Tokenizer() {
            public int[] encode(String text) {
                return new int[0];
            }

            public String decode(int[] ids) {
                return "";
            }

            public int bosId() {
                return 1;
            }

            public int eosId() {
                return 2;
            }

            public int vocabSize() {
                return VOCAB;
            }
        };
        SampleRecord text = SampleRecord.ofText("\u200b");
        assertThat(rejected(new SampleDecoder(silent, VOCAB, 5).decode(text.key(), text.value(), "text")).reason())
                .isEqualTo("too-few-tokens");
    }

    @Test
    void textWithoutATokenizerIsRejected() {
        SampleRecord s = SampleRecord.ofText("hello");
        SampleDecoder.Rejected r = rejected(new SampleDecoder(null, VOCAB, 5).decode(s.key(), s.value(), "text"));
        assertThat(r.reason()).isEqualTo("no-tokenizer");
        SampleRecord t = SampleRecord.ofTokens(new int[] {1, 2});
        assertThat(accepted(new SampleDecoder(null, VOCAB, 5).decode(t.key(), t.value(), "tokens"))).containsExactly(1, 2);
    }

    @Test
    void malformedRecordsKeepTheReasonOfTheRecordFormat() {
        byte[] key = "k".getBytes(StandardCharsets.UTF_8);
        assertThat(reason(key, "{\"text\": \"unterminated", "text")).isEqualTo("malformed-json");
        assertThat(reason(key, "{\"text\": \"\"}", "text")).isEqualTo("empty-text");
        assertThat(rejected(decoder.decode(key, new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xff, '"', '}'},
                "text")).reason()).isEqualTo("not-utf8");
        assertThat(reason(key, "{\"text\": \"a story\"}", "csv")).isEqualTo("format-mismatch");
        assertThat(rejected(decoder.decode(null, "{\"text\":\"x\"}".getBytes(StandardCharsets.UTF_8), "text")).reason())
                .isEqualTo("missing-key");
        assertThat(rejected(decoder.decode(key, null, "text")).reason()).isEqualTo("empty");
    }

    private String reason(byte[] key, String value, String format) {
        return rejected(decoder.decode(key, value.getBytes(StandardCharsets.UTF_8), format)).reason();
    }

    private static int[] accepted(SampleDecoder.Result r) {
        assertThat(r).isInstanceOf(SampleDecoder.Accepted.class);
        return ((SampleDecoder.Accepted) r).tokens();
    }

    private static SampleDecoder.Rejected rejected(SampleDecoder.Result r) {
        assertThat(r).isInstanceOf(SampleDecoder.Rejected.class);
        return (SampleDecoder.Rejected) r;
    }
}
