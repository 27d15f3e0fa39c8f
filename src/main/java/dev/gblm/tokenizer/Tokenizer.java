package dev.gblm.tokenizer;

/** Text to token ids and back. Implementations are immutable and thread-safe. */
public interface Tokenizer {

    /** Encodes text without BOS/EOS (callers add {@link #bosId()} where a protocol asks for it). */
    int[] encode(String text);

    /** Decodes ids to text; special tokens (BOS, EOS) are dropped. */
    String decode(int[] ids);

    int bosId();

    int eosId();

    int vocabSize();
}
