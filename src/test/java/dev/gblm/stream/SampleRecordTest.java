package dev.gblm.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SampleRecordTest {

    @Test
    void textRoundTripsWithAStableContentId() throws Exception {
        SampleRecord s = SampleRecord.ofText("Once upon a time \"quoted\"\nüñí");
        assertThat(s.id()).isEqualTo(SampleRecord.ofText("Once upon a time \"quoted\"\nüñí").id()).startsWith("t-").hasSize(34);
        assertThat(s.id()).isNotEqualTo(SampleRecord.ofText("Once upon a time").id());
        assertThat(new String(s.value(), StandardCharsets.UTF_8)).startsWith("{\"text\":");
        assertThat(SampleRecord.decode(s.key(), s.value(), "text")).isEqualTo(s);
        assertThat(SampleRecord.decode(s.key(), s.value(), null)).isEqualTo(s);
    }

    @Test
    void tokensRoundTrip() throws Exception {
        SampleRecord s = SampleRecord.ofTokens(new int[] {1, 403, 0, 511});
        assertThat(s.format()).isEqualTo("tokens");
        assertThat(s.id()).startsWith("k-");
        assertThat(new String(s.value(), StandardCharsets.UTF_8)).isEqualTo("{\"tokens\":[1,403,0,511]}");
        assertThat(SampleRecord.decode(s.key(), s.value(), "tokens").tokens()).containsExactly(1, 403, 0, 511);
    }

    @Test
    void jsonObjectsMayCarryTheirOwnId() throws Exception {
        assertThat(SampleRecord.fromJsonObject("{\"id\":\"doc-7\",\"text\":\"hi\"}").id()).isEqualTo("doc-7");
        assertThat(SampleRecord.fromJsonObject("{\"text\":\"hi\"}")).isEqualTo(SampleRecord.ofText("hi"));
        assertThat(SampleRecord.fromJsonObject("{\"text\":\"hi\",\"source\":\"x\"}").text()).isEqualTo("hi");
    }

    @Test
    void rejectsWhatAWorkerCannotUseWithAReason() {
        byte[] k = "id".getBytes(StandardCharsets.UTF_8);
        assertReason(k, "{\"text\":", "malformed-json");
        assertReason(k, "[1,2]", "not-an-object");
        assertReason(k, "{\"text\":\"  \"}", "empty-text");
        assertReason(k, "{\"text\":5}", "bad-text");
        assertReason(k, "{\"tokens\":[1,-2]}", "bad-tokens");
        assertReason(k, "{\"tokens\":[1.5]}", "bad-tokens");
        assertReason(k, "{\"tokens\":[]}", "bad-tokens");
        assertReason(k, "{\"other\":1}", "no-text");
        assertReason(k, "{\"text\":\"a\",\"tokens\":[1]}", "ambiguous");
        assertReason(null, "{\"text\":\"a\"}", "missing-key");
        assertThatThrownBy(() -> SampleRecord.decode(k, new byte[] {'{', '"', (byte) 0xC3, '"', '}'}, null))
                .isInstanceOfSatisfying(InvalidSampleException.class, e -> assertThat(e.reason()).isEqualTo("not-utf8"));
        assertThatThrownBy(() -> SampleRecord.decode(k, "{\"text\":\"a\"}".getBytes(StandardCharsets.UTF_8), "tokens"))
                .isInstanceOfSatisfying(InvalidSampleException.class, e -> assertThat(e.reason()).isEqualTo("format-mismatch"));
    }

    private static void assertReason(byte[] key, String value, String reason) {
        assertThatThrownBy(() -> SampleRecord.decode(key, value.getBytes(StandardCharsets.UTF_8), null))
                .isInstanceOfSatisfying(InvalidSampleException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }
}
