package dev.gblm.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Parsing and encoding options on small SentencePiece models serialized by the test itself. */
class SentencePieceModelTest {
    private static final int UNK = 0;
    private static final int BOS = 1;
    private static final int EOS = 2;
    private static final int SPACE = 3; // ▁
    private static final int A = 4;
    private static final int B = 5;
    private static final int SPACE_A = 6; // ▁a
    private static final int SPACE_B = 7; // ▁b

    @TempDir
    Path dir;

    private static ProtoWriter piece(String text, float score, int type) {
        return new ProtoWriter().string(1, text).fixed32(2, score).varint(3, type);
    }

    /** unk, bos, eos, ▁, a, b, ▁a, ▁b; BPE; no byte pieces. */
    private static ProtoWriter baseModel(ProtoWriter trainer, ProtoWriter normalizer) {
        return new ProtoWriter()
                .message(1, piece("<unk>", 0, 2))
                .message(1, piece("<s>", 0, 3))
                .message(1, piece("</s>", 0, 3))
                .message(1, piece("▁", -1, 1))
                .message(1, piece("a", -2, 1))
                .message(1, piece("b", -3, 1))
                .message(1, piece("▁a", -4, 1))
                .message(1, piece("▁b", -5, 1))
                .message(2, trainer)
                .message(3, normalizer);
    }

    private static SentencePieceTokenizer tokenizer(ProtoWriter model) {
        return new SentencePieceTokenizer(SentencePieceModel.parse(model.toByteArray()));
    }

    @Test
    void defaultsFollowTheProtoWhenFieldsAreAbsent() {
        SentencePieceModel m = SentencePieceModel.parse(
                baseModel(new ProtoWriter().varint(3, 2), new ProtoWriter()).toByteArray());
        assertThat(m.unkId()).isZero();
        assertThat(m.bosId()).isEqualTo(1);
        assertThat(m.eosId()).isEqualTo(2);
        assertThat(m.byteFallback()).isFalse();
        assertThat(m.addDummyPrefix()).isTrue();
        assertThat(m.removeExtraWhitespaces()).isTrue();
        assertThat(m.escapeWhitespaces()).isTrue();
        assertThat(m.pieces()).hasSize(8);
        assertThat(m.pieces().get(SPACE_A).text()).isEqualTo("▁a");
        assertThat(m.pieces().get(SPACE_A).score()).isEqualTo(-4f);
    }

    @Test
    void extraWhitespaceIsSqueezedWhenTheNormalizerAsksForIt() {
        SentencePieceTokenizer tok = tokenizer(baseModel(
                new ProtoWriter().varint(3, 2), new ProtoWriter().string(1, "identity")));
        assertThat(tok.encode("  a   b ")).containsExactly(SPACE_A, SPACE_B);
        assertThat(tok.decode(new int[] {BOS, SPACE_A, SPACE_B, EOS})).isEqualTo("a b");
    }

    @Test
    void withoutDummyPrefixTheFirstWordHasNoSpaceMark() {
        SentencePieceTokenizer tok = tokenizer(baseModel(new ProtoWriter().varint(3, 2),
                new ProtoWriter().string(1, "identity").varint(3, 0).varint(4, 0)));
        assertThat(tok.encode("a b")).containsExactly(A, SPACE_B);
    }

    @Test
    void withoutByteFallbackARunOfUnknownCharactersIsOneUnk() {
        SentencePieceTokenizer tok = tokenizer(baseModel(new ProtoWriter().varint(3, 2),
                new ProtoWriter().string(1, "identity").varint(4, 0)));
        // "▁a" "x" "y" "▁b": x and y are unknown and adjacent.
        assertThat(tok.encode("axy b")).containsExactly(SPACE_A, UNK, SPACE_B);
        assertThat(tok.decode(new int[] {SPACE_A, UNK})).isEqualTo("a \u2047 ");
    }

    @Test
    void specialIdsComeFromTheTrainerSpec() {
        SentencePieceTokenizer tok = tokenizer(baseModel(
                new ProtoWriter().varint(3, 2).varint(40, 0).varint(41, 2).varint(42, 1).varint(43, -1),
                new ProtoWriter()));
        assertThat(tok.bosId()).isEqualTo(2);
        assertThat(tok.eosId()).isEqualTo(1);
        assertThat(tok.vocabSize()).isEqualTo(8);
    }

    @Test
    void unigramModelsAreRejectedClearly() {
        ProtoWriter unigram = baseModel(new ProtoWriter().varint(3, 1), new ProtoWriter());
        assertThatThrownBy(() -> tokenizer(unigram)).isInstanceOf(GblmException.class)
                .hasMessageContaining("UNIGRAM").hasMessageContaining("not supported");
    }

    @Test
    void aFileWithoutPiecesIsNotASentencePieceModel() throws IOException {
        Path file = dir.resolve("tokenizer.model");
        Files.write(file, new ProtoWriter().message(2, new ProtoWriter().varint(3, 2)).toByteArray());
        assertThatThrownBy(() -> SentencePieceTokenizer.load(file)).isInstanceOf(GblmException.class)
                .hasMessageContaining("not a valid SentencePiece model").hasMessageContaining("no pieces");
    }

    @Test
    void outOfRangeIdsAreRejectedOnDecode() {
        SentencePieceTokenizer tok = tokenizer(baseModel(new ProtoWriter().varint(3, 2), new ProtoWriter()));
        assertThatThrownBy(() -> tok.decode(new int[] {8})).isInstanceOf(GblmException.class);
    }
}
