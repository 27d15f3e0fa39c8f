/**
 * Tokenizers behind one interface, {@link Tokenizer} (text to token ids and back, BOS and EOS ids):
 * {@link Llama2cTokenizer} reads llama2.c's {@code tokenizer.bin}, {@link SentencePieceTokenizer} runs a
 * SentencePiece BPE {@code tokenizer.model} in pure Java (its protobuf read without a protobuf dependency), and
 * {@link HfTokenizer} runs a Hugging Face {@code tokenizer.json} through DJL's binding of the Rust
 * {@code tokenizers} library. {@link Tokenizers} is the single entry point that loads a model's tokenizer or an
 * explicit file; {@link TokenizerDetector} finds it next to the model ({@code tokenizer.model},
 * {@code tokenizer.json}, {@code tokenizer.bin}, {@code tok512.bin}, first found wins) and picks the format by file
 * extension or content. May depend only on {@code dev.gblm}.
 */
package dev.gblm.tokenizer;
