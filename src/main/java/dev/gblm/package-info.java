/**
 * The root of gblm, which prunes LLaMA-family models with GBLM-Pruner, Wanda, SparseGPT, gradient or magnitude
 * scores, in batch or while calibration data streams in over Kafka. This package holds only
 * {@link GblmException}, the user-facing error for problems caused by the user's input or environment (a bad file,
 * an unsupported config, ...), which the CLI prints as one line on stderr without a stack trace; it is pure, so
 * even the pure core may throw it. Everything else lives in the subpackages, laid out in the package map of
 * {@code docs/architecture.md}. This package depends on no other {@code dev.gblm} package.
 */
package dev.gblm;
