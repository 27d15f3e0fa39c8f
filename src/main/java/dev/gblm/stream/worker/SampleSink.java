package dev.gblm.stream.worker;

/**
 * Where an {@link OpenSlice} sends the token ids of its accepted samples: the engine's statistics accumulator in the
 * worker, a recorder in tests. The slice is the only caller of {@link #add} and {@link #reset}, so the statistics
 * and the slice's offset bookkeeping cannot drift apart.
 */
public interface SampleSink {
    /** Accumulates one sample (forward + backward in the worker). */
    void add(int[] tokens);

    /** Samples accumulated since the last reset. */
    long samples();

    /** Forgets everything accumulated. */
    void reset();
}
