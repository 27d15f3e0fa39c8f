/**
 * Evaluation of a loaded model: {@link Perplexity} is the token-weighted perplexity of a
 * {@code dev.gblm.engine.LlamaModel} over token sequences, {@link EvalProtocols} turns an evaluation text into those
 * sequences (chunk protocol, WikiText-2 windows) with a {@code dev.gblm.tokenizer.Tokenizer}, and {@link Generator}
 * generates text greedily or by temperature sampling. May depend on {@code dev.gblm}, {@code dev.gblm.engine},
 * {@code dev.gblm.model} and {@code dev.gblm.tokenizer}.
 */
package dev.gblm.eval;
