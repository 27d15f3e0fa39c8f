package dev.gblm.bench;

import dev.gblm.model.LinearKind;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.RowBlockPlanner;
import dev.gblm.stats.RowRange;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.finalizer.BlockAggregation;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Finalizer aggregation throughput: MB/s of per-slice statistics records summed by {@link BlockAggregation#sum}
 * (CRC check + decode + merge, exactly what the block task runs), next to a plain {@code System.arraycopy} of the
 * same bytes measured in the same run.
 */
public final class FinalizerBench {
    public record Result(long recordBytes, int records, double mergeMBps, double copyMBps) {
        public double ratio() {
            return mergeMBps / copyMBps;
        }

        public String describe() {
            return String.format("finalizer aggregation: %d records of %.2f MiB (one row block, %d slices)%n"
                    + "  decode+merge : %8.1f MB/s%n  arraycopy    : %8.1f MB/s%n  ratio        : %.3f (merge / copy)",
                    records, recordBytes / 1048576.0, records, mergeMBps, copyMBps, ratio());
        }
    }

    private FinalizerBench() {}

    /** {@code slices} records of the first 1 MiB row block of a {@code [out, in]} module with GRAD+ACT statistics. */
    public static Result run(int in, int slices, double seconds) {
        StatKinds kinds = StatKinds.of(StatKind.GRAD, StatKind.ACT);
        RowRange r = RowBlockPlanner.plan(11008, in, kinds).get(0);
        Random rnd = new Random(1);
        List<byte[]> records = new ArrayList<>();
        for (int s = 0; s < slices; s++) {
            ModuleStats m = ModuleStats.zeros(0, LinearKind.UP_PROJ, r.start(), r.end(), in, kinds);
            for (float[] a : new float[][] {m.gradL1(), m.gradL2Sq(), m.actSq()}) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = rnd.nextFloat();
                }
            }
            m.addCounts(8, 4096);
            records.add(StatsCodec.encode(m));
        }
        long bytes = records.stream().mapToLong(b -> b.length).sum();
        byte[] sink = new byte[records.get(0).length];
        // warm up both paths, then alternate measurement rounds so both see the same machine state
        for (int i = 0; i < 3; i++) {
            BlockAggregation.sum(records);
            copy(records, sink);
        }
        long mergeNs = 0;
        long copyNs = 0;
        long mergeRounds = 0;
        long copyRounds = 0;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        float check = 0;
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            check += BlockAggregation.sum(records).actSq()[0];
            long t1 = System.nanoTime();
            for (int k = 0; k < 10; k++) {
                copy(records, sink);
            }
            long t2 = System.nanoTime();
            mergeNs += t1 - t0;
            mergeRounds++;
            copyNs += t2 - t1;
            copyRounds += 10;
        }
        if (check == Float.MIN_VALUE && sink[0] == 42) {
            System.out.print(""); // keep results alive
        }
        double mb = bytes / 1e6;
        return new Result(records.get(0).length, slices, mb * mergeRounds / (mergeNs / 1e9), mb * copyRounds / (copyNs / 1e9));
    }

    private static void copy(List<byte[]> records, byte[] sink) {
        for (byte[] b : records) {
            System.arraycopy(b, 0, sink, 0, b.length);
        }
    }
}
