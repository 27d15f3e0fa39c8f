package dev.gblm.stream.ingest;

import dev.gblm.ops.KafkaSettings;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.Topics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Publishes the documents of one input to {@code calib.<stream>}. Records are sent asynchronously;
 * counts and metrics only include what the broker acknowledged.
 *
 * <p><b>Idempotent when given the topic's keys</b> ({@link TopicKeys}): a document whose key is already in the topic,
 * or was sent earlier in the same input, is not published again but counted as already present. Keys are
 * content-derived, so ingesting the same file twice publishes nothing the second time. Without keys (the 4-argument
 * constructor, {@code gblm ingest --force}) every document is published.
 *
 * <p>Metrics: {@code gblm.ingest.documents}, {@code gblm.ingest.bytes}, {@code gblm.ingest.skipped}
 * (tag {@code reason}), {@code gblm.ingest.errors}, {@code gblm.ingest.already.present}, all tagged {@code stream}.
 */
public final class Ingestor {
    private static final int MAX_EXAMPLES = 10;
    private static final long PROGRESS_EVERY_NANOS = 1_000_000_000L;
    /** Producer request limit; calibration topics accept 4 MiB records. */
    static final int MAX_REQUEST_BYTES = 4 * 1024 * 1024;
    /** Largest value sent: room is left for the key, headers and batch overhead. */
    public static final int MAX_DOCUMENT_BYTES = MAX_REQUEST_BYTES - 64 * 1024;

    private final Producer<byte[], byte[]> producer;
    private final String stream;
    private final String topic;
    private final MeterRegistry meters;
    private final PrintStream progress;
    private final TopicKeys present;

    /** Publishes every document, whatever the topic holds already. */
    public Ingestor(Producer<byte[], byte[]> producer, String stream, MeterRegistry meters, PrintStream progress) {
        this(producer, stream, meters, progress, null);
    }

    /**
     * @param progress where progress lines go (stderr in the CLI), or null for none
     * @param present  the keys already in the topic ({@link TopicKeys#read}); documents with one of them are not
     *                 published, and what is sent is added to it; null = publish every document
     */
    public Ingestor(Producer<byte[], byte[]> producer, String stream, MeterRegistry meters, PrintStream progress,
            TopicKeys present) {
        this.producer = producer;
        this.stream = stream;
        this.topic = Topics.calibrationTopic(stream);
        this.meters = meters;
        this.progress = progress;
        this.present = present;
    }

    /** Idempotent producer settings: acks=all, no duplicates on retry, large documents allowed. */
    public static Properties producerProperties(KafkaSettings kafka) {
        Properties p = kafka.producer("gblm-ingest");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(MAX_REQUEST_BYTES));
        return p;
    }

    public String topic() {
        return topic;
    }

    public IngestSummary ingest(InputStream input, DocumentReader.Format format) throws IOException {
        Counter docCounter = Counter.builder("gblm.ingest.documents").tag("stream", stream)
                .description("calibration documents acknowledged by Kafka").register(meters);
        Counter byteCounter = Counter.builder("gblm.ingest.bytes").tag("stream", stream)
                .baseUnit("bytes").description("value bytes of acknowledged documents").register(meters);
        Counter errorCounter = Counter.builder("gblm.ingest.errors").tag("stream", stream)
                .description("documents Kafka did not accept").register(meters);
        Counter presentCounter = Counter.builder("gblm.ingest.already.present").tag("stream", stream)
                .description("documents not published because their key is already in the topic").register(meters);
        AtomicLong alreadyPresent = new AtomicLong();
        AtomicLong docs = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        AtomicReference<Exception> firstError = new AtomicReference<>();
        Map<String, Long> skipped = new TreeMap<>();
        List<String> examples = new ArrayList<>();
        long[] lastProgress = {System.nanoTime()};

        DocumentReader.read(input, format, new DocumentReader.Sink() {
            @Override
            public void document(SampleRecord sample, long line) {
                byte[] value = sample.value();
                if (value.length > MAX_DOCUMENT_BYTES) {
                    // refused here rather than by the broker, so it is reported with its line number
                    skipped(line, DocumentReader.TOO_LARGE, DocumentReader.tooLarge(value.length, "as JSON",
                            MAX_DOCUMENT_BYTES));
                    return;
                }
                byte[] key = sample.key();
                if (present != null) {
                    if (present.contains(key)) {
                        alreadyPresent.incrementAndGet();
                        presentCounter.increment();
                        return;
                    }
                    present.add(key);
                }
                ProducerRecord<byte[], byte[]> rec = new ProducerRecord<>(topic, null, key, value,
                        List.of(new RecordHeader(Topics.HEADER_FORMAT,
                                sample.format().getBytes(StandardCharsets.UTF_8))));
                producer.send(rec, (md, ex) -> {
                    if (ex == null) {
                        docs.incrementAndGet();
                        bytes.addAndGet(value.length);
                        docCounter.increment();
                        byteCounter.increment(value.length);
                    } else {
                        failed.incrementAndGet();
                        errorCounter.increment();
                        firstError.compareAndSet(null, ex);
                    }
                });
                maybeProgress();
            }

            @Override
            public void skipped(long line, String reason, String message) {
                skipped.merge(reason, 1L, Long::sum);
                Counter.builder("gblm.ingest.skipped").tag("stream", stream).tag("reason", reason)
                        .description("input pieces skipped, by reason").register(meters).increment();
                if (examples.size() < MAX_EXAMPLES) {
                    examples.add("line " + line + ": " + message);
                }
            }

            private void maybeProgress() {
                long now = System.nanoTime();
                if (progress != null && now - lastProgress[0] > PROGRESS_EVERY_NANOS) {
                    lastProgress[0] = now;
                    progress.printf("ingest %s: %d documents acknowledged (%s)%n",
                            topic, docs.get(), IngestSummary.human(bytes.get()));
                }
            }
        });
        producer.flush();
        if (firstError.get() != null && progress != null) {
            progress.println("ingest " + topic + ": first send error: " + firstError.get());
        }
        return new IngestSummary(topic, docs.get(), bytes.get(), new TreeMap<>(skipped), examples, failed.get(),
                alreadyPresent.get());
    }
}
