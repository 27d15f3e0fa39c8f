package dev.gblm.stream.finalizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.finalizer.TopicReadGrant.Entry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The read decision the finalizer makes from the ACL entries that match a topic, as Kafka's authorizer makes it. */
class TopicReadGrantTest {
    private static final String A = "User:a";

    @Test
    void anAllowOfReadOrAllForThePrincipalOrEveryoneGrants() {
        assertThat(TopicReadGrant.allows(A, List.of(new Entry(A, "*", "READ", true)))).isTrue();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry(A, "*", "ALL", true)))).isTrue();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry("User:*", "*", "READ", true)))).isTrue();
    }

    @Test
    void nothingElseGrants() {
        assertThat(TopicReadGrant.allows(A, List.of())).isFalse();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry(A, "*", "WRITE", true), new Entry(A, "*", "DESCRIBE", true)))).isFalse();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry("User:b", "*", "READ", true)))).isFalse();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry("User:ab", "*", "READ", true)))).isFalse();
        // the finalizer cannot know from which host the team reads: a host-bound allow is not a grant
        assertThat(TopicReadGrant.allows(A, List.of(new Entry(A, "10.0.0.1", "READ", true)))).isFalse();
    }

    @Test
    void aDenyWinsWhateverItsHost() {
        assertThat(TopicReadGrant.allows(A, List.of(new Entry(A, "*", "READ", true), new Entry(A, "*", "READ", false)))).isFalse();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry("User:*", "*", "ALL", true), new Entry(A, "10.0.0.1", "ALL", false))))
                .isFalse();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry(A, "*", "READ", true), new Entry("User:*", "*", "READ", false))))
                .isFalse();
        assertThat(TopicReadGrant.allows(A, List.of(new Entry(A, "*", "READ", true), new Entry(A, "*", "WRITE", false)))).isTrue();
    }
}
