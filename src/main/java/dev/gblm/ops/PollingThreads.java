package dev.gblm.ops;

import org.apache.kafka.clients.consumer.KafkaConsumer;

/** Stopping a thread that is blocked in {@link KafkaConsumer#poll}. */
public final class PollingThreads {
    private PollingThreads() {}

    /**
     * Wakes the consumer (its poll throws WakeupException, so the loop sees its stop flag at once) and waits for the
     * thread to end. Either may be null: not started yet, or the consumer not created yet.
     */
    public static void wakeAndJoin(Thread thread, KafkaConsumer<?, ?> consumer) {
        if (thread == null) {
            return;
        }
        if (consumer != null) {
            consumer.wakeup();
        }
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
