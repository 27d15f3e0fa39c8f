package dev.gblm.stream.worker;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One slice's Kafka transaction: begin, send the records, add the consumed offsets, commit; and the error handling
 * the {@code KafkaProducer} contract asks for, which is where a worker decides between retrying, aborting and
 * stopping.
 *
 * <ul>
 *   <li><b>Timeout</b> ({@link TimeoutException}) of {@code sendOffsetsToTransaction}, {@code commitTransaction} or
 *       {@code abortTransaction}: the request may still complete on the broker, so the producer refuses any other
 *       transactional call until the same one is retried. It is retried, with exponential backoff, up to
 *       {@code attempts} calls in all. A broker restart or a coordinator move is ridden out this way. When the
 *       attempts run out the only option left is to close the producer: {@link StuckException}, fatal for the
 *       worker.</li>
 *   <li><b>Fatal</b> (fencing: {@link ProducerFencedException}, {@link InvalidProducerEpochException}; and
 *       {@link OutOfOrderSequenceException}, {@link AuthorizationException}, {@link UnsupportedVersionException},
 *       {@link InterruptException}): rethrown; no abort is possible or useful, the next owner recomputes from the
 *       committed offsets.</li>
 *   <li><b>Abortable</b> (any other {@link KafkaException}: a record the broker refused, a group generation that
 *       moved on, {@code TransactionAbortableException}): the transaction is aborted (timeouts of the abort retried
 *       as above) and the result is {@link Outcome#ABORTED} with the cause.</li>
 * </ul>
 */
final class SliceTransaction {
    private static final Logger LOG = LoggerFactory.getLogger(SliceTransaction.class);

    /** How many calls of one transactional operation are made while it times out (the first included). */
    static final int DEFAULT_ATTEMPTS = 6;
    /** Backoff after the first timeout; doubled after each further one, up to {@link #MAX_BACKOFF}. */
    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(16);

    enum Outcome { COMMITTED, ABORTED }

    /** @param cause why the transaction was aborted; null when committed */
    record Result(Outcome outcome, KafkaException cause) {
        boolean committed() {
            return outcome == Outcome.COMMITTED;
        }
    }

    /** A transactional call kept timing out: the producer must be closed (its transaction state is unknown). */
    static final class StuckException extends RuntimeException {
        StuckException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Waits between attempts; tests pass a recorder instead of sleeping. */
    interface Sleeper {
        void sleep(Duration d) throws InterruptedException;
    }

    private final Producer<byte[], byte[]> producer;
    private final String who;
    private final int attempts;
    private final Duration firstBackoff;
    private final Duration maxBackoff;
    private final Sleeper sleeper;

    SliceTransaction(Producer<byte[], byte[]> producer, String who) {
        this(producer, who, DEFAULT_ATTEMPTS, FIRST_BACKOFF, MAX_BACKOFF, d -> Thread.sleep(d.toMillis()));
    }

    SliceTransaction(Producer<byte[], byte[]> producer, String who, int attempts, Duration firstBackoff,
            Duration maxBackoff, Sleeper sleeper) {
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts must be >= 1: " + attempts);
        }
        this.producer = producer;
        this.who = who;
        this.attempts = attempts;
        this.firstBackoff = firstBackoff;
        this.maxBackoff = maxBackoff;
        this.sleeper = sleeper;
    }

    /** What a transaction publishes: records handed to {@code send} one by one, possibly as they are computed. */
    @FunctionalInterface
    interface RecordSource {
        void sendTo(Consumer<ProducerRecord<byte[], byte[]>> send);
    }

    /**
     * Publishes {@code records} and {@code offsets} in one transaction. {@code beforeCommit} runs after everything was
     * sent, right before the commit (the worker's fault hook). Returns COMMITTED or ABORTED; throws on fatal errors
     * and {@link StuckException}.
     */
    Result run(List<ProducerRecord<byte[], byte[]>> records, Map<TopicPartition, OffsetAndMetadata> offsets,
            ConsumerGroupMetadata group, Runnable beforeCommit) {
        return run(send -> records.forEach(send), offsets, group, beforeCommit);
    }

    /**
     * As {@link #run(List, Map, ConsumerGroupMetadata, Runnable)}, with records produced while the transaction is
     * open (a worker computing a slice layer by layer sends each layer's records as soon as they exist). When the
     * source fails with anything but a {@link KafkaException}, the transaction is aborted and the failure rethrown:
     * nothing of a half-computed slice is ever committed, and the producer stays usable.
     */
    Result run(RecordSource records, Map<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group,
            Runnable beforeCommit) {
        try {
            producer.beginTransaction();
            try {
                records.sendTo(producer::send);
            } catch (KafkaException e) {
                throw e;
            } catch (RuntimeException e) {
                retryingTimeouts("abortTransaction", producer::abortTransaction);
                throw e;
            }
            retryingTimeouts("sendOffsetsToTransaction", () -> producer.sendOffsetsToTransaction(offsets, group));
            beforeCommit.run();
            retryingTimeouts("commitTransaction", producer::commitTransaction);
            return new Result(Outcome.COMMITTED, null);
        } catch (ProducerFencedException | InvalidProducerEpochException | OutOfOrderSequenceException
                | AuthorizationException | UnsupportedVersionException | InterruptException e) {
            throw e;
        } catch (KafkaException e) {
            retryingTimeouts("abortTransaction", producer::abortTransaction);
            return new Result(Outcome.ABORTED, e);
        }
    }

    /**
     * Calls {@code op} until it does not time out, at most {@link #attempts} times. Other exceptions pass through.
     * A timed-out call must be retried before the producer accepts any other transactional call, so running out of
     * attempts is not abortable: {@link StuckException}.
     */
    private void retryingTimeouts(String name, Runnable op) {
        Duration backoff = firstBackoff;
        for (int attempt = 1; ; attempt++) {
            try {
                op.run();
                if (attempt > 1) {
                    LOG.info("{}: {} succeeded on attempt {}", who, name, attempt);
                }
                return;
            } catch (TimeoutException e) {
                if (attempt >= attempts) {
                    throw new StuckException(who + ": " + name + " timed out " + attempts
                            + " times; the transaction's outcome is unknown and the producer must be closed", e);
                }
                LOG.warn("{}: {} timed out (attempt {} of {}), retrying in {} ms: {}", who, name, attempt, attempts,
                        backoff.toMillis(), e.getMessage());
                try {
                    sleeper.sleep(backoff);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new StuckException(who + ": interrupted while retrying " + name, e);
                }
                backoff = backoff.multipliedBy(2).compareTo(maxBackoff) > 0 ? maxBackoff : backoff.multipliedBy(2);
            }
        }
    }
}
