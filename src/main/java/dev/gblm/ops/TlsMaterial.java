package dev.gblm.ops;

import dev.gblm.GblmException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The TLS key and trust stores of an embedded broker and its clients (PKCS12 files), generated at run time by
 * {@link #generate}: a certificate authority made for the occasion signs a broker certificate (subject alternative
 * names {@code IP:127.0.0.1} and {@code DNS:localhost}, so clients keep Kafka's default host name verification) and one
 * client certificate per name ({@code CN=<name>,O=gblm}, which the broker maps to the principal {@code User:<name>}).
 * The authority's private key is never written: it only lives while {@code generate} runs, so nobody can issue more
 * certificates afterwards, and no private key is ever committed to the repository.
 *
 * <p>Why hand-built DER rather than {@code keytool}: the JDK has no public API that issues certificates, and
 * {@code keytool} would take four JVM starts per certificate (generate, request, sign, import), seconds each on a
 * loaded machine; the few DER structures of an X.509 v3 certificate are short, and each certificate is parsed back by
 * the JDK's {@link CertificateFactory} and verified against its issuer's key before it is stored.
 *
 * <p>All stores share one random password ({@link #password}), and every file is readable by its owner only.
 *
 * @param truststore      PKCS12 store holding the authority's certificate (for the broker and every client)
 * @param brokerKeystore  PKCS12 store holding the broker's key and certificate chain
 * @param clientKeystores client name → PKCS12 store holding that client's key and certificate chain
 * @param password        the password of every store and key
 */
public record TlsMaterial(Path truststore, Path brokerKeystore, Map<String, Path> clientKeystores, String password) {
    /** How long {@link #generate(Path, Collection)} makes certificates valid. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofDays(30);
    /** Maps {@code CN=alice,O=gblm} (RFC 2253, as Kafka renders a certificate's subject) to the principal {@code User:alice}. */
    public static final String PRINCIPAL_MAPPING_RULES = "RULE:^CN=([^,]*).*$/$1/,DEFAULT";
    static final String STORE_TYPE = "PKCS12";
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final String ECDSA_SHA256_OID = "1.2.840.10045.4.3.2";

    public TlsMaterial {
        clientKeystores = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(clientKeystores)); // in given order
        if (password == null || password.isEmpty()) {
            throw new GblmException("TLS material without a store password");
        }
    }

    /** {@link #generate(Path, Collection, Duration)} with certificates valid {@link #DEFAULT_VALIDITY}. */
    public static TlsMaterial generate(Path dir, Collection<String> clientNames) {
        return generate(dir, clientNames, DEFAULT_VALIDITY);
    }

    /**
     * Writes into {@code dir} (created if missing): {@code ca.pem} (the authority's certificate, for non-Java
     * clients), {@code truststore.p12}, {@code broker.p12} and {@code <name>.p12} for each client name.
     *
     * @param clientNames names of the client certificates (1-64 characters of {@code A-Z a-z 0-9 . _ -})
     */
    public static TlsMaterial generate(Path dir, Collection<String> clientNames, Duration validity) {
        for (String name : clientNames) {
            if (!ScramUsers.validName(name) || name.equals("broker") || name.equals("truststore")) {
                throw new GblmException("invalid client certificate name '" + name + "' (" + ScramUsers.NAME_RULE
                        + ", not broker or truststore)");
            }
        }
        SecureRandom random = new SecureRandom();
        byte[] pw = new byte[18];
        random.nextBytes(pw);
        String password = Base64.getUrlEncoder().withoutPadding().encodeToString(pw);
        Instant notBefore = Instant.now().minus(Duration.ofHours(1)); // tolerate a little clock skew
        Instant notAfter = Instant.now().plus(validity);
        try {
            Files.createDirectories(dir);
            KeyPair ca = keyPair();
            byte[] caName = name("gblm embedded broker CA " + Long.toHexString(random.nextLong()));
            X509Certificate caCert = certificate(caName, caName, ca.getPublic().getEncoded(), ca.getPrivate(),
                    notBefore, notAfter, extension("2.5.29.19", true, seq(bool(true))), random);
            EmbeddedKafka.writePrivate(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(caCert.getEncoded())
                    + "\n-----END CERTIFICATE-----\n");

            KeyStore trust = emptyStore();
            trust.setCertificateEntry("ca", caCert);
            Path truststore = store(trust, dir.resolve("truststore.p12"), password);

            byte[] altNames = seq(tagged(0x87, InetAddress.getLoopbackAddress().getAddress()),
                    tagged(0x82, "localhost".getBytes(StandardCharsets.US_ASCII)));
            Path broker = leaf(dir.resolve("broker.p12"), "broker", extension("2.5.29.17", false, altNames),
                    caName, ca.getPrivate(), caCert, notBefore, notAfter, random, password);
            Map<String, Path> clients = new LinkedHashMap<>();
            for (String name : clientNames) {
                clients.put(name, leaf(dir.resolve(name + ".p12"), name, null, caName, ca.getPrivate(), caCert,
                        notBefore, notAfter, random, password));
            }
            return new TlsMaterial(truststore, broker, clients, password);
        } catch (IOException e) {
            throw new GblmException("cannot write TLS material into " + dir + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new GblmException("cannot generate TLS material: " + e.getMessage(), e);
        }
    }

    /** A client's key store; a GblmException naming the known clients when there is none for {@code name}. */
    public Path clientKeystore(String name) {
        Path p = clientKeystores.get(name);
        if (p == null) {
            throw new GblmException("no client certificate for " + name + " (have: "
                    + String.join(", ", clientKeystores.keySet()) + ")");
        }
        return p;
    }

    /** The client properties that make a Kafka client trust the broker ({@code ssl.truststore.*}). */
    public Map<String, String> truststoreProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("ssl.truststore.type", STORE_TYPE);
        p.put("ssl.truststore.location", truststore.toAbsolutePath().toString());
        p.put("ssl.truststore.password", password);
        return p;
    }

    /** The client properties that present {@code name}'s certificate ({@code ssl.keystore.*}, {@code ssl.key.password}). */
    public Map<String, String> keystoreProperties(String name) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("ssl.keystore.type", STORE_TYPE);
        p.put("ssl.keystore.location", clientKeystore(name).toAbsolutePath().toString());
        p.put("ssl.keystore.password", password);
        p.put("ssl.key.password", password);
        return p;
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "TlsMaterial[truststore=" + truststore + ", broker=" + brokerKeystore + ", clients="
                + String.join(", ", clientKeystores.keySet()) + "]";
    }

    private static Path leaf(Path file, String commonName, byte[] extension, byte[] issuer, PrivateKey issuerKey,
            X509Certificate caCert, Instant notBefore, Instant notAfter, SecureRandom random, String password)
            throws GeneralSecurityException, IOException {
        KeyPair keys = keyPair();
        X509Certificate cert = certificate(issuer, name(commonName), keys.getPublic().getEncoded(), issuerKey,
                notBefore, notAfter, extension, random);
        cert.verify(caCert.getPublicKey());
        KeyStore ks = emptyStore();
        ks.setKeyEntry(commonName, keys.getPrivate(), password.toCharArray(), new Certificate[] {cert, caCert});
        return store(ks, file, password);
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static KeyStore emptyStore() throws GeneralSecurityException, IOException {
        KeyStore ks = KeyStore.getInstance(STORE_TYPE);
        ks.load(null, null);
        return ks;
    }

    private static Path store(KeyStore ks, Path file, String password) throws GeneralSecurityException, IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ks.store(bytes, password.toCharArray());
        EmbeddedKafka.writePrivate(file, bytes.toByteArray());
        return file;
    }

    /** An X.509 v3 certificate (RFC 5280 section 4.1) signed with ECDSA/SHA-256 by {@code issuerKey}. */
    private static X509Certificate certificate(byte[] issuer, byte[] subject, byte[] subjectPublicKeyInfo,
            PrivateKey issuerKey, Instant notBefore, Instant notAfter, byte[] extension, SecureRandom random)
            throws GeneralSecurityException {
        byte[] algorithm = seq(oid(ECDSA_SHA256_OID));
        byte[] tbs = seq(
                tagged(0xa0, integer(BigInteger.TWO)), // version v3
                integer(new BigInteger(63, random).add(BigInteger.ONE)),
                algorithm,
                issuer,
                seq(utcTime(notBefore), utcTime(notAfter)),
                subject,
                subjectPublicKeyInfo, // Key.getEncoded() of a public key is already the DER SubjectPublicKeyInfo
                extension == null ? new byte[0] : tagged(0xa3, seq(extension)));
        Signature s = Signature.getInstance(SIGNATURE);
        s.initSign(issuerKey);
        s.update(tbs);
        byte[] signature = s.sign();
        byte[] bits = new byte[signature.length + 1]; // leading 0: no unused bits
        System.arraycopy(signature, 0, bits, 1, signature.length);
        byte[] der = seq(tbs, algorithm, tagged(0x03, bits));
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }

    /** {@code O=gblm, CN=<commonName>}, rendered {@code CN=<commonName>,O=gblm} in RFC 2253. */
    private static byte[] name(String commonName) {
        return seq(
                tagged(0x31, seq(oid("2.5.4.10"), tagged(0x0c, "gblm".getBytes(StandardCharsets.UTF_8)))),
                tagged(0x31, seq(oid("2.5.4.3"), tagged(0x0c, commonName.getBytes(StandardCharsets.UTF_8)))));
    }

    private static byte[] extension(String oid, boolean critical, byte[] value) {
        return critical ? seq(oid(oid), bool(true), tagged(0x04, value)) : seq(oid(oid), tagged(0x04, value));
    }

    private static byte[] utcTime(Instant t) {
        String s = DateTimeFormatter.ofPattern("yyMMddHHmmss'Z'").withZone(ZoneOffset.UTC).format(t);
        return tagged(0x17, s.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] bool(boolean b) {
        return tagged(0x01, new byte[] {(byte) (b ? 0xff : 0)});
    }

    private static byte[] integer(BigInteger v) {
        return tagged(0x02, v.toByteArray());
    }

    private static byte[] oid(String dotted) {
        String[] parts = dotted.split("\\.");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(Integer.parseInt(parts[0]) * 40 + Integer.parseInt(parts[1]));
        for (int i = 2; i < parts.length; i++) {
            long v = Long.parseLong(parts[i]);
            int groups = Math.max(1, (64 - Long.numberOfLeadingZeros(v) + 6) / 7);
            for (int g = groups - 1; g >= 0; g--) {
                out.write((int) ((v >>> (7 * g)) & 0x7f) | (g > 0 ? 0x80 : 0));
            }
        }
        return tagged(0x06, out.toByteArray());
    }

    private static byte[] seq(byte[]... parts) {
        return tagged(0x30, parts);
    }

    /** A DER element: tag, definite length, then the parts' bytes. */
    private static byte[] tagged(int tag, byte[]... parts) {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            content.writeBytes(p);
        }
        int n = content.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(n) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write((n >>> (8 * i)) & 0xff);
            }
        }
        out.writeBytes(content.toByteArray());
        return out.toByteArray();
    }
}
