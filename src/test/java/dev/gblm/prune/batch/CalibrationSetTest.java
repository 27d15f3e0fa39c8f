package dev.gblm.prune.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.testing.CharTokenizer;
import dev.gblm.tokenizer.Tokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

class CalibrationSetTest {
    /** One token per character (id = char), BOS 1. */
    static final Tokenizer CHARS = new CharTokenizer(c -> c, 256);

    @Test
    void detectsJsonLinesByExtensionOrFirstCharacter() {
        assertThat(CalibrationSet.isJsonLines("c.JSONL", "plain")).isTrue();
        assertThat(CalibrationSet.isJsonLines("c.txt", "\n  {\"text\": \"a\"}")).isTrue();
        assertThat(CalibrationSet.isJsonLines("c.txt", "Once upon")).isFalse();
        assertThat(CalibrationSet.isJsonLines("c.txt", "")).isFalse();
    }

    @Test
    void textDocumentsAreSeparatedByBlankLinesAndStripped() {
        assertThat(CalibrationSet.documents(" a b \n c\n\n\n  d  \n \n", false)).containsExactly("a b \n c", "d");
    }

    @Test
    void jsonLinesReadTheTextField() {
        assertThat(CalibrationSet.documents("{\"text\": \"x\"}\n\n{\"text\": \"y\", \"id\": 3}\n", true))
                .containsExactly("x", "y");
        assertThatThrownBy(() -> CalibrationSet.documents("{\"id\": 1}\n", true))
                .isInstanceOf(GblmException.class).hasMessageContaining("line 1").hasMessageContaining("\"text\"");
    }

    @Test
    void samplesAreBosPlusTokensTruncatedAndShortDocumentsSkippedAndCounted() {
        CalibrationSet c = CalibrationSet.build(List.of("abcdef", "", "xy", "z", "more"), CHARS, 3, 4);
        assertThat(c.samples()).containsExactly(new int[] {1, 'a', 'b', 'c'}, new int[] {1, 'x', 'y'}, new int[] {1, 'z'});
        assertThat(c.skipped()).isEqualTo(1);
        assertThat(c.documentsRead()).isEqualTo(4);
        assertThat(c.tokens()).isEqualTo(9);
    }
}
