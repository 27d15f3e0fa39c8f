package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The users file of a secured broker: format and its one-line errors. */
class ScramUsersTest {
    @TempDir
    Path tmp;

    @Test
    void readsUsersInOrderSkippingCommentsAndBlankLines() throws Exception {
        Path f = Files.writeString(tmp.resolve("users"), "# the broker's own user\nadmin:s3cret!\n\n  bob : pw:with:colons \n");
        ScramUsers users = ScramUsers.parse(f);
        assertThat(users.users()).containsExactly(Map.entry("admin", "s3cret!"), Map.entry("bob", "pw:with:colons"));
        assertThat(users.toString()).contains("admin", "bob").doesNotContain("s3cret");
    }

    @Test
    void missingFile() {
        assertThatThrownBy(() -> ScramUsers.parse(tmp.resolve("nope")))
                .isInstanceOf(GblmException.class).hasMessageEndingWith("nope: no such file");
    }

    @Test
    void badLinesNameTheirNumber() throws Exception {
        for (List<String> c : List.of(
                List.of("admin:a\nbob\n", "line 2: expected name:password"),
                List.of("admin:a\n:pw\n", "line 2: invalid user name ''"),
                List.of("admin:a\nbo b:pw\n", "line 2: invalid user name 'bo b'"),
                List.of("admin:\n", "line 1: invalid password for user admin"),
                List.of("admin:a\n\nbob:p,w\n", "line 3: invalid password for user bob"),
                List.of("admin:a\nbob:p\"w\n", "line 2: invalid password for user bob"),
                List.of("admin:a\nbob:x\nadmin:b\n", "line 3: duplicate user admin (first on line 1)"),
                List.of("# nobody\n\n", ": no users"))) {
            Path f = Files.writeString(tmp.resolve("users"), c.get(0));
            assertThatThrownBy(() -> ScramUsers.parse(f))
                    .isInstanceOf(GblmException.class)
                    .hasMessageStartingWith("users file " + f)
                    .hasMessageContaining(c.get(1))
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        }
    }

    @Test
    void builderChecksTheBrokerUserAndSuperUsers() {
        ScramUsers users = ScramUsers.of(Map.of("bob", "pw"));
        assertThatThrownBy(() -> EmbeddedKafka.builder().scramUsers(users).build())
                .isInstanceOf(GblmException.class).hasMessage("the broker user admin is not one of the users of (given in code)");
        assertThatThrownBy(() -> EmbeddedKafka.builder().scramUsers(users).brokerUser("bob").superUsers(List.of("a;b")).build())
                .isInstanceOf(GblmException.class).hasMessageStartingWith("invalid super user name 'a;b'");
        assertThatThrownBy(() -> EmbeddedKafka.builder().superUsers(List.of("bob")).build())
                .isInstanceOf(GblmException.class).hasMessage("brokerUser and superUsers need scramUsers (a secured broker)");
        EmbeddedKafka k = EmbeddedKafka.builder().scramUsers(users).brokerUser("bob").superUsers(List.of("ops", "bob")).build();
        assertThat(k.superUsers()).containsExactly("bob", "ops");
        assertThat(k.brokerProperties(9092, 9093)).containsEntry("super.users", "User:bob;User:ops")
                .containsEntry("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
                .containsEntry("allow.everyone.if.no.acl.found", "false")
                .containsEntry("listeners", "SASL_PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
        k.stop(); // deletes its temporary data directory
        assertThat(k.dataDir()).doesNotExist();
    }

    @Test
    void plaintextDefaultIsUnchanged() {
        EmbeddedKafka k = EmbeddedKafka.builder().build();
        assertThat(k.secured()).isFalse();
        assertThat(k.brokerProperties(9092, 9093)).containsEntry("listeners", "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093")
                .doesNotContainKeys("authorizer.class.name", "super.users", "sasl.enabled.mechanisms");
        k.stop();
    }

    @Test
    void passwordsNeverAppearInErrors() throws Exception {
        Path f = Files.writeString(tmp.resolve("users"), "admin:top]secret\n");
        assertThatThrownBy(() -> ScramUsers.parse(f)).isInstanceOf(GblmException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("top]secret"));
    }
}
