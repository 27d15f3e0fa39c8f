package dev.gblm.stream;

/** A Kafka record that cannot be used (malformed, inconsistent, or for another model); its message is the DLQ reason text. */
public class RecordFormatException extends RuntimeException {
    public RecordFormatException(String message) {
        super(message);
    }
}
