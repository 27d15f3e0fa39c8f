package dev.gblm.stream.ingest;

import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The outcome of one ingest: documents and value bytes acknowledged by Kafka, skipped pieces by
 * reason (with the first few examples, line numbers included), sends that failed, and documents not
 * published because their key was already in the topic (or earlier in the input).
 */
public record IngestSummary(
        String topic,
        long documents,
        long bytes,
        SortedMap<String, Long> skippedByReason,
        List<String> skippedExamples,
        long failed,
        long alreadyPresent) {

    public IngestSummary {
        skippedByReason = new TreeMap<>(skippedByReason);
        skippedExamples = List.copyOf(skippedExamples);
    }

    /** A summary of an ingest that did not check for keys already present. */
    public IngestSummary(String topic, long documents, long bytes, SortedMap<String, Long> skippedByReason,
            List<String> skippedExamples, long failed) {
        this(topic, documents, bytes, skippedByReason, skippedExamples, failed, 0);
    }

    public long skipped() {
        return skippedByReason.values().stream().mapToLong(Long::longValue).sum();
    }

    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("ingested %d documents (%s) into %s", documents, human(bytes), topic));
        if (alreadyPresent > 0) {
            sb.append(String.format(", %d already present (not published again)", alreadyPresent));
        }
        if (skipped() > 0) {
            sb.append(String.format("%nskipped %d:", skipped()));
            for (Map.Entry<String, Long> e : skippedByReason.entrySet()) {
                sb.append(' ').append(e.getKey()).append('=').append(e.getValue());
            }
            for (String ex : skippedExamples) {
                sb.append("\n  ").append(ex);
            }
            if (skippedExamples.size() < skipped()) {
                sb.append("\n  ...");
            }
        }
        if (failed > 0) {
            sb.append(String.format("%nFAILED to send %d documents", failed));
        }
        return sb.toString();
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format("%.1f KiB", bytes / 1024.0);
        }
        return String.format("%.1f MiB", bytes / (1024.0 * 1024));
    }
}
