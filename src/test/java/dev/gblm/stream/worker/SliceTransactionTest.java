package dev.gblm.stream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The commit error handling of a slice, on a {@link MockProducer} that keeps the real producer's rule after a
 * timeout: until the timed-out call is retried, any other transactional call is refused ("Cannot attempt operation
 * abortTransaction because the previous call to commitTransaction timed out and must be retried"). That rule is what
 * killed workers on a broker restart: the commit timed out, the worker tried to abort, the producer refused.
 */
class SliceTransactionTest {
    static final Node NODE = new Node(0, "localhost", 9092);
    static final Cluster CLUSTER = new Cluster("c", List.of(NODE),
            List.of(new PartitionInfo("gblm.stats", 0, NODE, new Node[] {NODE}, new Node[] {NODE})), Set.of(), Set.of());
    static final Map<TopicPartition, OffsetAndMetadata> OFFSETS = Map.of(new TopicPartition("calib.s", 0),
            new OffsetAndMetadata(7));
    static final ConsumerGroupMetadata GROUP = new ConsumerGroupMetadata("g");

    /** Times out the first {@code commitTimeouts} commits (and so on); refuses other calls while one is pending. */
    static final class TimingOutProducer extends MockProducer<byte[], byte[]> {
        int commitTimeouts;
        int offsetTimeouts;
        int abortTimeouts;
        int commitCalls;
        int abortCalls;
        String pending;

        TimingOutProducer() {
            super(CLUSTER, true, null, new ByteArraySerializer(), new ByteArraySerializer());
        }

        private void refuseUnless(String op) {
            if (pending != null && !pending.equals(op)) {
                throw new IllegalStateException("Cannot attempt operation `" + op + "` because the previous call to `"
                        + pending + "` timed out and must be retried");
            }
        }

        @Override
        public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets,
                ConsumerGroupMetadata metadata) {
            refuseUnless("sendOffsetsToTransaction");
            if (offsetTimeouts > 0) {
                offsetTimeouts--;
                pending = "sendOffsetsToTransaction";
                throw new TimeoutException("Timeout expired after 60000ms while awaiting AddOffsetsToTxn");
            }
            pending = null;
            super.sendOffsetsToTransaction(offsets, metadata);
        }

        @Override
        public void commitTransaction() {
            commitCalls++;
            refuseUnless("commitTransaction");
            if (commitTimeouts > 0) {
                commitTimeouts--;
                pending = "commitTransaction";
                throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(true)");
            }
            pending = null;
            super.commitTransaction();
        }

        @Override
        public void abortTransaction() {
            abortCalls++;
            refuseUnless("abortTransaction");
            if (abortTimeouts > 0) {
                abortTimeouts--;
                pending = "abortTransaction";
                throw new TimeoutException("Timeout expired after 60000ms while awaiting EndTxn(false)");
            }
            pending = null;
            super.abortTransaction();
        }
    }

    TimingOutProducer producer;
    final List<Duration> sleeps = new ArrayList<>();
    SliceTransaction tx;

    @BeforeEach
    void setUp() {
        producer = new TimingOutProducer();
        producer.initTransactions();
        tx = new SliceTransaction(producer, "test", 4, Duration.ofSeconds(1), Duration.ofSeconds(3), sleeps::add);
    }

    static List<ProducerRecord<byte[], byte[]>> records() {
        return List.of(new ProducerRecord<>("gblm.stats", 0, new byte[] {1}, new byte[] {2}),
                new ProducerRecord<>("gblm.stats", 0, new byte[] {3}, new byte[] {4}));
    }

    @Test
    void aCommitThatTimesOutIsRetriedWithBackoffAndCommitsWithoutAnAbort() {
        producer.commitTimeouts = 3; // e.g. the broker restarts while the slice commits
        SliceTransaction.Result r = tx.run(records(), OFFSETS, GROUP, () -> {});
        assertThat(r.outcome()).isEqualTo(SliceTransaction.Outcome.COMMITTED);
        assertThat(producer.commitCalls).isEqualTo(4);
        assertThat(producer.abortCalls).isZero();
        assertThat(producer.transactionCommitted()).isTrue();
        assertThat(producer.history()).hasSize(2);
        assertThat(producer.consumerGroupOffsetsHistory()).containsExactly(Map.of("g", OFFSETS));
        assertThat(sleeps).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(3));
    }

    @Test
    void aCommitThatNeverCompletesIsFatalAndNeverAborted() {
        producer.commitTimeouts = 100;
        assertThatThrownBy(() -> tx.run(records(), OFFSETS, GROUP, () -> {}))
                .isInstanceOf(SliceTransaction.StuckException.class)
                .hasMessageContaining("commitTransaction timed out 4 times").hasCauseInstanceOf(TimeoutException.class);
        assertThat(producer.commitCalls).isEqualTo(4);
        assertThat(producer.abortCalls).as("abort after a timed-out commit is refused by the producer").isZero();
        assertThat(producer.transactionCommitted()).isFalse();
    }

    @Test
    void timeoutsOfSendOffsetsAndOfTheAbortAreRetriedToo() {
        producer.offsetTimeouts = 1;
        assertThat(tx.run(records(), OFFSETS, GROUP, () -> {}).committed()).isTrue();
        producer.abortTimeouts = 2;
        producer.commitTransactionException = new KafkaException("CommitFailedException: generation id is not valid");
        SliceTransaction.Result r = tx.run(records(), OFFSETS, GROUP, () -> {});
        assertThat(r.outcome()).isEqualTo(SliceTransaction.Outcome.ABORTED);
        assertThat(producer.abortCalls).isEqualTo(3);
        assertThat(producer.transactionAborted()).isTrue();
    }

    @Test
    void anAbortableErrorAbortsAndReportsItsCause() {
        KafkaException cause = new KafkaException("The producer encountered an error: RecordTooLargeException");
        producer.commitTransactionException = cause;
        SliceTransaction.Result r = tx.run(records(), OFFSETS, GROUP, () -> {});
        assertThat(r.outcome()).isEqualTo(SliceTransaction.Outcome.ABORTED);
        assertThat(r.cause()).isSameAs(cause);
        assertThat(producer.transactionAborted()).isTrue();
        assertThat(producer.transactionCommitted()).isFalse();
        assertThat(sleeps).isEmpty();
    }

    @Test
    void fencingIsRethrownWithoutAnAbort() {
        producer.commitTransactionException = new ProducerFencedException("a newer instance has the same id");
        assertThatThrownBy(() -> tx.run(records(), OFFSETS, GROUP, () -> {}))
                .isInstanceOf(ProducerFencedException.class);
        assertThat(producer.abortCalls).isZero();
    }

    @Test
    void theHookRunsAfterTheOffsetsAndBeforeTheCommit() {
        List<String> seen = new ArrayList<>();
        tx.run(records(), OFFSETS, GROUP, () -> seen.add("offsets sent: " + producer.sentOffsets()
                + ", committed: " + producer.transactionCommitted()));
        assertThat(seen).containsExactly("offsets sent: true, committed: false");
    }

    @Test
    void aSourceFailingMidwayAbortsTheTransactionAndRethrows() {
        // a layer-major worker computes while its transaction is open: an engine failure must leave nothing committed
        IllegalStateException engine = new IllegalStateException("engine failed in layer 3");
        assertThatThrownBy(() -> tx.run(send -> {
            send.accept(records().get(0));
            throw engine;
        }, OFFSETS, GROUP, () -> {})).isSameAs(engine);
        assertThat(producer.transactionAborted()).isTrue();
        assertThat(producer.transactionCommitted()).isFalse();
        assertThat(producer.sentOffsets()).isFalse();
        // the producer is usable again
        assertThat(tx.run(records(), OFFSETS, GROUP, () -> {}).committed()).isTrue();
    }
}
