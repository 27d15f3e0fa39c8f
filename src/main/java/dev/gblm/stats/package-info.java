/**
 * Pure calibration statistics: {@link ModuleStats} holds the float32 sums of one linear module or of a row block of
 * it (gradient L1 and squared-L2 sums, squared activation norms, the Hessian sum, sample and token counts), and
 * {@link CalibrationStats} those of every module of a model keyed by {@link ModuleKey}; both form a commutative
 * monoid under {@code merge}, so partial sums from any number of workers add up in any order. {@link StatKind} and
 * {@link StatKinds} say which statistics are present (the bits GRAD=1, ACT=2, HESSIAN=4 of the wire format),
 * {@link StatsCodec} is their checksummed binary record ({@code GBST}, failing with {@link StatsFormatException}),
 * and {@link RowBlockPlanner} cuts a module's rows into balanced {@link RowRange} blocks whose records fit a byte
 * limit. Part of the pure core: no I/O, no engine, no Kafka, no metrics; it may depend only on {@code dev.gblm} and
 * {@code dev.gblm.model} (of which the pure-core rules admit only {@code GblmException} and {@code LinearKind}).
 */
package dev.gblm.stats;
