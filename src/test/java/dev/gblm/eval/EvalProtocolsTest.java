package dev.gblm.eval;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.testing.CharTokenizer;
import dev.gblm.tokenizer.Tokenizer;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvalProtocolsTest {
    /** One token per character, BOS 1: makes window arithmetic visible. */
    static final Tokenizer CHARS = new CharTokenizer(c -> c + 10, 1000);

    @Test
    void chunksSplitOnBlankLinesStripAndDropEmpty() {
        assertThat(EvalProtocols.chunks("  a b \n c\n\n\n  \n\nd\r\n\r\ne  ")).containsExactly("a b \n c", "d", "e");
    }

    @Test
    void chunkSequencesAddBosTruncateAndHonourOffset() {
        List<int[]> s = EvalProtocols.chunkSequences("abcdef\n\nxy\n\nz", CHARS, 4, 0, 10);
        assertThat(s.get(0)).containsExactly(1, 'a' + 10, 'b' + 10, 'c' + 10, 'd' + 10);
        assertThat(s).hasSize(3);
        assertThat(EvalProtocols.chunkSequences("abcdef\n\nxy\n\nz", CHARS, 4, 1, 1).get(0))
                .containsExactly(1, 'x' + 10, 'y' + 10);
    }

    @Test
    void wikitextRowsKeepNewlinesAndBlankRowsBecomeEmpty() {
        assertThat(EvalProtocols.wikitextRows(" \n = T = \n \nab\n")).containsExactly("", " = T = \n", "", "ab\n");
    }

    @Test
    void wikitextWindowsAreNonOverlappingWithTailDropped() {
        // rows "ab\n", "" , "cd\n" joined by "\n\n" -> 10 chars + BOS = 11 tokens -> two windows of 5
        List<int[]> w = EvalProtocols.wikitextWindows("ab\n \ncd\n", CHARS, 5, 0, 100);
        assertThat(w).hasSize(2);
        assertThat(w.get(0)[0]).isEqualTo(1);
        assertThat(w.get(1)).containsExactly('\n' + 10, '\n' + 10, '\n' + 10, 'c' + 10, 'd' + 10);
    }
}
