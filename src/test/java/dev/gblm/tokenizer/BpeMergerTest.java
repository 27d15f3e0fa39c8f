package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The merge order on tiny hand-made vocabularies, where the right answer can be worked out by hand. */
class BpeMergerTest {

    /** Builds a merger from (piece, score) pairs; ids are positions in the list. */
    private static BpeMerger merger(Set<String> unusedPieces, Set<String> userDefined, Object... pieceScore) {
        Map<String, Integer> ids = new HashMap<>();
        float[] scores = new float[pieceScore.length / 2];
        boolean[] unused = new boolean[scores.length];
        for (int i = 0; i < scores.length; i++) {
            String piece = (String) pieceScore[2 * i];
            ids.put(piece, i);
            scores[i] = ((Number) pieceScore[2 * i + 1]).floatValue();
            unused[i] = unusedPieces.contains(piece);
        }
        return new BpeMerger(ids, scores, unused, userDefined);
    }

    @Test
    void higherScoringMergeWinsEvenWhenItIsFurtherRight() {
        // "abc": ab (-5) vs bc (-1): bc first, then a+bc is not a piece.
        BpeMerger m = merger(Set.of(), Set.of(), "a", 0, "b", 0, "c", 0, "ab", -5, "bc", -1);
        assertThat(m.encode("abc")).containsExactly("a", "bc");
    }

    @Test
    void tiesGoToTheLeftmostPair() {
        // "aaa": both "aa" pairs tie; the leftmost merges first, leaving "aa","a".
        BpeMerger m = merger(Set.of(), Set.of(), "a", 0, "aa", -1);
        assertThat(m.encode("aaa")).containsExactly("aa", "a");
        assertThat(m.encode("aaaaa")).containsExactly("aa", "aa", "a");
    }

    @Test
    void mergesCascadeThroughNewlyAdjacentPairs() {
        BpeMerger m = merger(Set.of(), Set.of(), "a", 0, "b", 0, "ab", -1, "abab", -2, "ababab", -3, "ba", -10);
        // a b a b a b -> ab ab ab (three tied "ab", leftmost first) -> abab ab -> ababab.
        assertThat(m.encode("ababab")).containsExactly("ababab");
    }

    @Test
    void charactersOutsideTheVocabularyStayAsSingleSymbols() {
        BpeMerger m = merger(Set.of(), Set.of(), "a", 0, "ab", -1);
        assertThat(m.encode("a🦙ab")).containsExactly("a", "🦙", "ab");
    }

    @Test
    void userDefinedPiecesAreMatchedWholeAndNeverMerged() {
        BpeMerger m = merger(Set.of(), Set.of("<x>"), "<x>", 0, "<", 0, "x", 0, "a", 0, "a<", -1, "x>", -1);
        assertThat(m.encode("a<x>a")).containsExactly("a", "<x>", "a");
    }

    @Test
    void unusedPiecesAreSplitBackIntoTheirParts() {
        BpeMerger m = merger(Set.of("ab"), Set.of(), "a", 0, "b", 0, "c", 0, "ab", -1, "abc", -20);
        // ab (unused) still merges, so abc can form; plain "ab" is split back into a, b.
        assertThat(m.encode("abc")).containsExactly("abc");
        assertThat(m.encode("ab")).containsExactly("a", "b");
    }

    @Test
    void keyOrdersByDescendingScoreThenAscendingPosition() {
        assertThat(BpeMerger.key(-1f, 5)).isLessThan(BpeMerger.key(-2f, 0));
        assertThat(BpeMerger.key(3f, 5)).isLessThan(BpeMerger.key(-3f, 0));
        assertThat(BpeMerger.key(0f, 1)).isLessThan(BpeMerger.key(0f, 2));
        assertThat(BpeMerger.key(Float.MAX_VALUE, 9)).isLessThan(BpeMerger.key(-Float.MAX_VALUE, 0));
    }

    @Test
    void emptyTextGivesNoSymbols() {
        assertThat(merger(Set.of(), Set.of(), "a", 0).encode("")).isEqualTo(List.of());
    }
}
