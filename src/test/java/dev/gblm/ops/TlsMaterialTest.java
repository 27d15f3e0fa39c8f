package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.security.ssl.SslPrincipalMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The generated stores are checked with code independent of the generator: the JDK's PKIX validator (chains up to the
 * trust store's authority), its X.509 parser (names, extensions) and Kafka's own principal mapper.
 */
class TlsMaterialTest {
    @Test
    void certificatesChainToTheAuthorityAndNameTheirPrincipal(@TempDir Path dir) throws Exception {
        TlsMaterial m = TlsMaterial.generate(dir, List.of("alice", "gblm-worker"));
        assertThat(m.clientKeystores()).containsOnlyKeys("alice", "gblm-worker");
        KeyStore trust = load(m.truststore(), m.password());
        X509Certificate ca = (X509Certificate) trust.getCertificate("ca");
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0); // a CA
        assertThat(Files.readString(dir.resolve("ca.pem"))).startsWith("-----BEGIN CERTIFICATE-----");

        X509Certificate broker = validChain(m.brokerKeystore(), m.password(), trust);
        assertThat(broker.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))).toList())
                .containsExactly("127.0.0.1", "localhost");
        X509Certificate alice = validChain(m.clientKeystore("alice"), m.password(), trust);
        assertThat(alice.getSubjectX500Principal().getName()).isEqualTo("CN=alice,O=gblm");
        assertThat(alice.getBasicConstraints()).isEqualTo(-1);

        SslPrincipalMapper mapper = SslPrincipalMapper.fromRules(TlsMaterial.PRINCIPAL_MAPPING_RULES);
        assertThat(mapper.getName("CN=alice,O=gblm")).isEqualTo("alice");
        assertThat(mapper.getName("CN=gblm-worker,OU=x,O=y")).isEqualTo("gblm-worker");
        assertThat(mapper.getName("O=no-common-name")).isEqualTo("O=no-common-name"); // DEFAULT: the whole DN

        assertThat(m.toString()).doesNotContain(m.password());
        assertThat(m.keystoreProperties("alice")).containsEntry("ssl.keystore.type", "PKCS12")
                .containsEntry("ssl.keystore.location", m.clientKeystore("alice").toAbsolutePath().toString());
        assertThatThrownBy(() -> m.clientKeystore("bob")).isInstanceOf(GblmException.class)
                .hasMessage("no client certificate for bob (have: alice, gblm-worker)");
    }

    @Test
    void twoGenerationsHaveUnrelatedAuthorities(@TempDir Path dir) throws Exception {
        TlsMaterial a = TlsMaterial.generate(dir.resolve("a"), List.of("x"));
        TlsMaterial b = TlsMaterial.generate(dir.resolve("b"), List.of("x"));
        assertThat(a.password()).isNotEqualTo(b.password());
        KeyStore trustA = load(a.truststore(), a.password());
        assertThatThrownBy(() -> validChain(b.clientKeystore("x"), b.password(), trustA))
                .isInstanceOf(java.security.cert.CertPathValidatorException.class);
    }

    @Test
    void badNamesAndIncompleteBrokerOptionsAreOneLineErrors(@TempDir Path dir) {
        assertThatThrownBy(() -> TlsMaterial.generate(dir, List.of("a b"))).isInstanceOf(GblmException.class)
                .hasMessageStartingWith("invalid client certificate name 'a b'");
        assertThatThrownBy(() -> EmbeddedKafka.builder().tls(TlsMaterial.generate(dir, List.of())).build())
                .isInstanceOf(GblmException.class).hasMessageContaining("need scramUsers");
        ScramUsers users = ScramUsers.of(Map.of("admin", "pw"));
        assertThatThrownBy(() -> EmbeddedKafka.builder().scramUsers(users).certificateListener(true).build())
                .isInstanceOf(GblmException.class).hasMessageStartingWith("a certificate listener needs tls");
        assertThatThrownBy(() -> EmbeddedKafka.builder().scramUsers(users).saslMechanisms(List.of("GSSAPI")).build())
                .isInstanceOf(GblmException.class).hasMessageStartingWith("unsupported SASL mechanism GSSAPI");
    }

    private static KeyStore load(Path file, String password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            ks.load(in, password.toCharArray());
        }
        return ks;
    }

    /** The key store's leaf certificate after the JDK validated its chain against {@code trust}. */
    private static X509Certificate validChain(Path keystore, String password, KeyStore trust) throws Exception {
        KeyStore ks = load(keystore, password);
        String alias = ks.aliases().nextElement();
        assertThat(ks.isKeyEntry(alias)).isTrue();
        List<java.security.cert.Certificate> chain = Arrays.asList(ks.getCertificateChain(alias));
        PKIXParameters params = new PKIXParameters(trust);
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(
                CertificateFactory.getInstance("X.509").generateCertPath(chain.subList(0, 1)), params);
        return (X509Certificate) chain.get(0);
    }
}
