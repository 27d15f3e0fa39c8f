package dev.gblm.ops;

/**
 * A long-running part of gblm with one lifecycle: {@link #start} returns once the service is running (or throws a
 * {@link dev.gblm.GblmException} saying why it cannot), {@link #health} reports its state at any time, and
 * {@link #close} stops it cleanly and may be called more than once. The worker, finalizer, exporter and the embedded
 * broker are services; {@code Pipeline} starts them in order and closes them in reverse.
 */
public interface Service extends AutoCloseable {
    /** Short name for logs and health reports ({@code worker}, {@code finalizer}, ...). */
    String name();

    /** Starts the service and returns it once running. A service can be started once. */
    Service start();

    /** Current health: down before start, after close, and after a failure (with the failure). */
    Health health();

    /** Stops the service cleanly; idempotent. */
    @Override
    void close();
}
