package dev.gblm.stream.finalizer;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps the global jobs store in step with the compacted {@code gblm.jobs} topic. Values are kept raw and parsed
 * by the planner, so a malformed job can never stop the global thread (the planner skips and logs it).
 */
final class JobsStoreProcessor implements Processor<String, byte[], Void, Void> {
    private KeyValueStore<String, byte[]> store;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        store = context.getStateStore(FinalizerTopology.JOBS_STORE);
    }

    @Override
    public void process(Record<String, byte[]> rec) {
        if (rec.key() == null) {
            return;
        }
        if (rec.value() == null) {
            store.delete(rec.key());
        } else {
            store.put(rec.key(), rec.value());
        }
    }
}
