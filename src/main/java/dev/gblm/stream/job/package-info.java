/**
 * The job client: {@link JobClient} submits, deletes and lists {@code dev.gblm.stream.JobSpec} pruning jobs on the
 * compacted topic {@code gblm.jobs}, reporting streams whose calibration topic does not exist. May depend on
 * {@code dev.gblm}, {@code dev.gblm.ops}, {@code dev.gblm.stream} and {@code dev.gblm.stream.topics}.
 */
package dev.gblm.stream.job;
