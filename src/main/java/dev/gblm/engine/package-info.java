/**
 * The DJL/PyTorch engine: {@link LlamaModel} loads a {@code dev.gblm.model.Checkpoint} into a LLaMA decoder on DJL
 * NDArrays (float32 compute, Hugging Face rotary layout) and runs the forward pass (loss, logits, one layer at a
 * time for sequential pruning) and {@link LlamaModel#forwardBackward forward + backward}, reporting each linear
 * module's input to an {@link ActivationObserver} and its weight gradient to a {@link GradientObserver};
 * {@link LossResult} is the summed next-token loss. {@link StatsAccumulator} sums the calibration statistics on the
 * engine's device as an observer, and {@link StatsCollector} runs calibration samples through the dense model and
 * hands out a {@code dev.gblm.stats.CalibrationStats}. {@link LayerMajorPass} differentiates one layer at a time;
 * what the memory-bounded passes would hold in excess goes to temporary files ({@link SpillSettings}): boundary
 * activations, per-sample dL/dh and sequential pruning's hidden states ({@link BoundaryStore}), and sequential
 * pruning's dense gradient sums ({@link GradientStore}). May depend on {@code dev.gblm}, {@code dev.gblm.model} and
 * {@code dev.gblm.stats}.
 */
package dev.gblm.engine;
