package dev.gblm.ops;

import org.apache.kafka.common.errors.SslAuthenticationException;

/**
 * One-line descriptions of Kafka client failures for gblm's error messages. Kafka's own message is often the last
 * step of a handshake ("Failed to process post-handshake messages", "SSL handshake failed") while the reason (the
 * alert the broker sent, the certificate path that did not validate) sits in a cause; a user needs the reason and
 * which client properties to look at.
 */
public final class KafkaFailures {
    private KafkaFailures() {}

    /** {@code e}'s message; for a TLS failure followed by its reason in parentheses. */
    public static String describe(Throwable e) {
        String message = String.valueOf(e.getMessage());
        if (!(e instanceof SslAuthenticationException)) {
            return message;
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String reason = root == e ? "" : String.valueOf(root.getMessage());
        String hint;
        if (reason.contains("bad_certificate") || reason.contains("certificate_required")
                || reason.contains("certificate_unknown") || reason.contains("unknown_ca")) {
            hint = "the broker refused the client certificate: set ssl.keystore.* to a certificate signed by an"
                    + " authority the broker trusts";
        } else if (reason.contains("PKIX") || reason.contains("certification path")) {
            hint = "the broker's certificate is not signed by an authority of ssl.truststore.*";
        } else if (reason.contains("subject alternative") || reason.contains("No name matching")) {
            hint = "the broker's certificate does not name the host of bootstrap.servers";
        } else {
            hint = "";
        }
        String shortReason = reason.length() > 160 ? reason.substring(0, 160) + "..." : reason;
        if (reason.isEmpty()) {
            return message;
        }
        return message + " (" + shortReason + (hint.isEmpty() ? "" : "; " + hint) + ")";
    }
}
