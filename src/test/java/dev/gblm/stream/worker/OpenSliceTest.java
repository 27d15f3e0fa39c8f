package dev.gblm.stream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.stream.OffsetRange;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class OpenSliceTest {
    static final TopicPartition A0 = new TopicPartition("calib.a", 0);
    static final TopicPartition A1 = new TopicPartition("calib.a", 1);

    /** Records what reaches the statistics. */
    static final class Recorder implements SampleSink {
        final List<int[]> added = new ArrayList<>();
        int resets;

        @Override
        public void add(int[] tokens) {
            added.add(tokens);
        }

        @Override
        public long samples() {
            return added.size();
        }

        @Override
        public void reset() {
            added.clear();
            resets++;
        }
    }

    final Recorder sink = new Recorder();

    @Test
    void heldOutRecordsCountAsConsumedButNeverReachTheStatistics() {
        OpenSlice<String> s = new OpenSlice<>("a", 0, sink);
        s.addSample(A0, 0, 0, new int[] {1, 2}, 10);
        s.addHeldOut(A0, 0, 1);
        s.addSample(A0, 0, 2, new int[] {1, 2, 3}, 20);
        s.addHeldOut(A1, 5, 5);
        assertThat(sink.added).hasSize(2);
        assertThat(s.samples()).isEqualTo(2);
        assertThat(s.heldOut()).isEqualTo(2);
        assertThat(s.records()).isEqualTo(4);
        assertThat(s.ranges()).containsExactly(new OffsetRange("calib.a", 0, 0, 3), new OffsetRange("calib.a", 1, 5, 6));
        s.requireInStep();
        assertThatThrownBy(() -> s.addHeldOut(A0, 0, 1)).isInstanceOf(IllegalStateException.class);
        // a stream of held-out records alone still closes (offsets committed without statistics)
        OpenSlice<String> only = new OpenSlice<>("a", 0, new Recorder());
        for (int i = 0; i < 4 * 2; i++) {
            only.addHeldOut(A0, 0, i);
        }
        assertThat(only.full(2)).isTrue();
    }

    @Test
    void rangesStartAtTheCommittedPositionAndEndAfterTheLastRecord() {
        OpenSlice<String> s = new OpenSlice<>("a", 0, sink);
        assertThat(s.isEmpty()).isTrue();
        // partition 0 was committed up to 3; offset 4 follows a transaction marker at 3
        s.addSample(A0, 3, 4, new int[] {1, 2, 3}, 100);
        s.addSample(A0, 3, 5, new int[] {1, 2}, 90);
        // partition 1 first seen here, no committed position known: the range starts at the record
        s.addReject(A1, 7, 7, "bad");
        s.addSample(A1, 7, 9, new int[] {1, 2, 3, 4}, 80);
        assertThat(s.ranges()).containsExactly(new OffsetRange("calib.a", 0, 3, 6), new OffsetRange("calib.a", 1, 7, 10));
        assertThat(s.commitOffsets()).hasSize(2);
        assertThat(s.commitOffsets().get(A0).offset()).isEqualTo(6);
        assertThat(s.commitOffsets().get(A1).offset()).isEqualTo(10);
        assertThat(s.startOffsets()).containsEntry(A0, 3L).containsEntry(A1, 7L);
        assertThat(s.samples()).isEqualTo(3);
        assertThat(s.tokens()).isEqualTo(9);
        assertThat(s.rejected()).isEqualTo(1);
        assertThat(s.records()).isEqualTo(4);
        assertThat(s.deadLetters()).containsExactly("bad");
        assertThat(s.lastSampleTimestamp()).isEqualTo(100);
    }

    @Test
    void theSinkHoldsExactlyTheRecordedSamples() {
        OpenSlice<String> s = new OpenSlice<>("a", 0, sink);
        int[] x = {1, 2};
        int[] y = {1, 3, 4};
        s.addSample(A0, 0, 0, x, 1);
        s.addReject(A0, 0, 1, "bad");
        s.addSample(A0, 0, 2, y, 2);
        assertThat(sink.added).containsExactly(x, y);
        s.requireInStep();
        // a record out of order changes neither the sink nor the ranges
        assertThatThrownBy(() -> s.addSample(A0, 0, 1, new int[] {1, 5}, 3)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> s.addSample(new TopicPartition("calib.b", 0), 0, 0, new int[] {1, 5}, 3))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(sink.added).containsExactly(x, y);
        assertThat(s.ranges()).containsExactly(new OffsetRange("calib.a", 0, 0, 3));
        // something else wrote into the accumulator: publishing must refuse
        sink.added.add(new int[] {1, 1});
        assertThatThrownBy(s::requireInStep).hasMessageContaining("3 samples").hasMessageContaining("records 2");
    }

    @Test
    void endingASliceEmptiesTheSinkOnceAndClosesTheSlice() {
        OpenSlice<String> committed = new OpenSlice<>("a", 0, sink);
        committed.addSample(A0, 0, 0, new int[] {1, 2}, 1);
        committed.finish();
        committed.finish();
        assertThat(sink.added).isEmpty();
        assertThat(sink.resets).isEqualTo(1);
        assertThat(committed.isEnded()).isTrue();
        assertThatThrownBy(() -> committed.addSample(A0, 0, 1, new int[] {1, 2}, 1))
                .isInstanceOf(IllegalStateException.class);

        OpenSlice<String> aborted = new OpenSlice<>("a", 0, sink);
        aborted.addSample(A0, 1, 1, new int[] {1, 2}, 1);
        aborted.discard();
        assertThat(sink.added).isEmpty();
        assertThat(sink.resets).isEqualTo(2);
    }

    @Test
    void aSliceCannotOpenOverStatisticsOfAnUnfinishedOne() {
        OpenSlice<String> first = new OpenSlice<>("a", 0, sink);
        first.addSample(A0, 0, 0, new int[] {1, 2}, 1);
        assertThatThrownBy(() -> new OpenSlice<String>("a", 0, sink)).hasMessageContaining("1 samples");
        first.discard();
        assertThat(new OpenSlice<String>("a", 0, sink).isEmpty()).isTrue();
    }

    @Test
    void closesOnSampleCountOrOnManyRejects() {
        OpenSlice<String> s = new OpenSlice<>("a", 0, sink);
        long offset = 0;
        for (int i = 0; i < 2; i++) {
            s.addSample(A0, 0, offset++, new int[] {1, 2}, 1);
        }
        assertThat(s.full(3)).isFalse();
        s.addSample(A0, 0, offset++, new int[] {1, 2}, 1);
        assertThat(s.full(3)).as("3 samples of 3").isTrue();

        OpenSlice<String> garbage = new OpenSlice<>("a", 0, new Recorder());
        for (int i = 0; i < OpenSlice.REJECT_FACTOR * 3 - 1; i++) {
            garbage.addReject(A0, 0, i, "bad " + i);
        }
        assertThat(garbage.full(3)).isFalse();
        garbage.addReject(A0, 0, OpenSlice.REJECT_FACTOR * 3 - 1, "last");
        assertThat(garbage.full(3)).as("rejects alone close a slice at REJECT_FACTOR x the size").isTrue();
        assertThat(garbage.samples()).isZero();
    }

    @Test
    void ageIsMeasuredFromOpening() {
        OpenSlice<String> s = new OpenSlice<>("a", 1_000, sink);
        assertThat(s.ageNanos(4_000)).isEqualTo(3_000);
    }
}
