package dev.gblm.testing;

import dev.gblm.tokenizer.Tokenizer;
import java.util.function.IntUnaryOperator;

/**
 * A tokenizer for unit tests: one id per character, given by a function of the character, so token counts and
 * positions are visible in the test text. BOS 1, EOS 2. It cannot decode: the code under test never should.
 */
public final class CharTokenizer implements Tokenizer {
    private final IntUnaryOperator idOfChar;
    private final int vocabSize;

    public CharTokenizer(IntUnaryOperator idOfChar, int vocabSize) {
        this.idOfChar = idOfChar;
        this.vocabSize = vocabSize;
    }

    @Override
    public int[] encode(String text) {
        return text.chars().map(idOfChar).toArray();
    }

    @Override
    public String decode(int[] ids) {
        throw new UnsupportedOperationException("CharTokenizer does not decode");
    }

    @Override
    public int bosId() {
        return 1;
    }

    @Override
    public int eosId() {
        return 2;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }
}
