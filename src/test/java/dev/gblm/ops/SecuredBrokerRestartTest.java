package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A kept data directory of a secured broker follows its users file from one start to the next. */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class SecuredBrokerRestartTest {

    @Test
    void usersAreSynchronisedAtEveryStart(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("data");
        Path users = Files.writeString(tmp.resolve("users"), "admin:first-pw\nbob:bob-1\ndave:dave-1\n");
        try (EmbeddedKafka k = EmbeddedKafka.builder().dataDir(dir).scramUsers(ScramUsers.parse(users)).build().start()) {
            assertThat(names(k)).containsExactlyInAnyOrder("admin", "bob", "dave");
        }
        // bob changes his password, carol is added, dave removed
        Files.writeString(users, "admin:first-pw\nbob:bob-2\ncarol:carol-1\n");
        try (EmbeddedKafka k = EmbeddedKafka.builder().dataDir(dir).scramUsers(ScramUsers.parse(users)).build().start()) {
            assertThat(names(k)).containsExactlyInAnyOrder("admin", "bob", "carol");
            try (Admin bob = Admin.create(k.clientSettings("bob", "bob-2").admin("t-bob"))) {
                assertThat(bob.describeCluster().nodes().get(30, TimeUnit.SECONDS)).hasSize(1);
            }
        }
        // the broker user's password cannot change under a kept directory: a clear error, not a hang
        Files.writeString(users, "admin:other-pw\n");
        EmbeddedKafka k = EmbeddedKafka.builder().dataDir(dir).scramUsers(ScramUsers.parse(users)).build();
        assertThatThrownBy(k::start).isInstanceOf(GblmException.class)
                .hasMessageContaining("the broker user admin cannot authenticate")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("other-pw"));
        assertThat(k.isRunning()).isFalse();
    }

    private static java.util.Set<String> names(EmbeddedKafka k) throws Exception {
        try (Admin a = Admin.create(k.clientSettings().admin("t-admin"))) {
            // credentials changes reach the broker's cache through metadata: the describe reads the controller's view
            Map<String, ?> m = a.describeUserScramCredentials().all().get(30, TimeUnit.SECONDS);
            return m.keySet();
        }
    }
}
