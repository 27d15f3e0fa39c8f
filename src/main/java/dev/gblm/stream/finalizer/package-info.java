/**
 * The finalizer service, a Kafka Streams application with exactly_once_v2: {@link Finalizer} checks its topics and
 * runs the {@link FinalizerTopology}, whose planner (partitioned by profile) declares a job's epochs from the
 * accepted slices and fans out one instruction per block, and whose block tasks (partitioned like
 * {@code gblm.stats}) sum exactly the epoch's slices of a block (on top of the job's base sum for window-0 re-pruning
 * jobs) and emit its mask block. The decisions are pure: {@link EpochPlanner} picks each epoch's slices (epoch 1, and
 * epochs 2..n of re-pruning jobs), what a window-0 job folds into its base and the retirable slices, {@link BlockAggregation} sums a block's
 * statistics records and selects its mask through {@code dev.gblm.prune.Pruner}. Weights come from
 * {@link DenseWeights} ({@link CheckpointWeights} reads a checkpoint without an engine); {@link FinalizerSettings},
 * {@link FinalizerMetrics} and {@link SkipTooLargeHandler} configure, measure and protect it. A record that cannot be
 * processed — malformed, or failing unexpectedly — goes to gblm.dlq through {@link DeadLetters} and never stops a
 * task; {@link ThreadFailures} makes repeated stream-thread failures visible in health, and
 * {@link InternalReplication} gives the changelogs the replication of the statistics they hold. May depend on
 * {@code dev.gblm}, {@code dev.gblm.model}, {@code dev.gblm.stats}, {@code dev.gblm.prune}, {@code dev.gblm.ops},
 * {@code dev.gblm.stream} and {@code dev.gblm.stream.topics}.
 */
package dev.gblm.stream.finalizer;
