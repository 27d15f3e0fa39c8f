/**
 * LLaMA-family models as stored, with no engine: {@link LlamaConfig} (the hyper-parameters read from and written to
 * a Hugging Face {@code config.json}, rejecting what the engine cannot honour), {@link Checkpoint} (a config plus
 * its tensors under Hugging Face names, with a SHA-256 {@link Checkpoint#fingerprint() fingerprint}),
 * {@link RopeScaling} (the rotary frequency rules: linear, dynamic, llama3),
 * {@link Checkpoints} (loads Hugging Face directories with single or sharded safetensors and llama2.c {@code .bin}
 * files, permuting llama2.c's q/k rows to the Hugging Face rotary layout, and saves Hugging Face directories, single
 * or sharded; also the tensor names and shapes), {@link SafetensorsReader} and {@link SafetensorsWriter}
 * (memory-mapped reads in windows of at most 2 GiB, streamed ordered writes, shards), {@link TensorData} and
 * {@link DType} (a tensor in its stored element type: F32, F16 or BF16, over one or more mapped chunks),
 * and {@link LinearKind}, the seven prunable linear modules of a decoder layer and their names, which is pure and
 * allow-listed for the pure core. May depend only on {@code dev.gblm}, and must not use {@code ai.djl} or
 * {@code org.apache.kafka}.
 */
package dev.gblm.model;
