package dev.gblm.stream;

/**
 * A calibration record or input line that cannot be used. {@link #reason()} is a short, stable
 * code (metric tag, dead-letter header); the message says what exactly was wrong.
 */
public final class InvalidSampleException extends Exception {
    private final String reason;

    public InvalidSampleException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    public String reason() {
        return reason;
    }
}
