package dev.gblm.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import java.util.List;
import org.junit.jupiter.api.Test;

class TailNoteTest {
    // stories260K's row lengths: hidden 64 everywhere except down_proj (intermediate 172 = 21·8 + 4)
    final List<TailNote.RowLength> rows = List.of(new TailNote.RowLength("q_proj", 64),
            new TailNote.RowLength("down_proj", 172));

    @Test
    void proportionalRuleNotesWhatTheReferenceWouldDo() {
        String s = TailNote.describe(SparsityPattern.nm(4, 8), rows, TailRule.PROPORTIONAL);
        assertThat(s).contains("down_proj rows (172 inputs)", "4-wide partial group (columns 168..171)",
                "prunes 2 of those 4", "would prune 4, removing those columns").doesNotContain("q_proj");
    }

    @Test
    void referenceRuleNotesTheProportionalAlternative() {
        String s = TailNote.describe(SparsityPattern.nm(4, 8), rows, TailRule.REFERENCE);
        assertThat(s).contains("prunes 4 of those 4", "proportional rule (floor(N·width/M)) would prune 2");
    }

    @Test
    void nothingToSayWhenRowsDivideEvenly() {
        assertThat(TailNote.describe(SparsityPattern.nm(2, 4), rows, TailRule.PROPORTIONAL)).isEmpty();
    }

    @Test
    void partialGroupSmallerThanNIsPrunedWholeByTheReferenceOnly() {
        // 4:8 on 66 inputs: a 2-wide tail; reference prunes min(4, 2) = 2 (all), proportional floor(4·2/8) = 1
        String s = TailNote.describe(SparsityPattern.nm(4, 8), List.of(new TailNote.RowLength("o_proj", 66)),
                TailRule.PROPORTIONAL);
        assertThat(s).contains("prunes 1 of those 2", "would prune 2, removing");
    }
}
