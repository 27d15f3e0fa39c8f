package dev.gblm;

/**
 * An error caused by the user's input or environment (bad file, unsupported config, ...).
 * The CLI prints its message as one line on stderr and exits non-zero, without a stack trace.
 */
public class GblmException extends RuntimeException {
    public GblmException(String message) {
        super(message);
    }

    public GblmException(String message, Throwable cause) {
        super(message, cause);
    }
}
