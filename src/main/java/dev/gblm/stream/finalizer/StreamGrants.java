package dev.gblm.stream.finalizer;

import java.util.List;

/**
 * The finalizer's check that a team may read the streams its job names: sharing a stream with another team is an ACL
 * its owner has an admin add, and a job may use a stream only while that ACL exists. Asked before every epoch.
 */
public interface StreamGrants extends AutoCloseable {
    /**
     * The streams of {@code streams} that {@code team} may not read, empty when it may read all of them. Throws
     * {@link dev.gblm.GblmException} when the cluster cannot say now (the planner asks again next round).
     */
    List<String> refused(String team, List<String> streams);

    /** Whether this check enforces anything (false on a cluster without an authorizer). */
    boolean enforced();

    @Override
    default void close() {}

    /** For clusters without an authorizer, where any client may read any topic anyway. */
    static StreamGrants notEnforced() {
        return new StreamGrants() {
            @Override
            public List<String> refused(String team, List<String> streams) {
                return List.of();
            }

            @Override
            public boolean enforced() {
                return false;
            }
        };
    }
}
