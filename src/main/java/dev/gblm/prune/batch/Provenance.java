package dev.gblm.prune.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * What {@code report.json} records about where an output came from, beyond the caller's options: hashes of the
 * calibration sources and the versions of gblm, Java, DJL and PyTorch. Versions come from resources on the class
 * path only (jar manifest, Maven's {@code pom.properties}, DJL's properties files), so nothing native is loaded.
 */
final class Provenance {
    private Provenance() {}

    /**
     * Adds to {@code report.calibration}: {@code sha256} and {@code bytes} of {@code calibration.file} when it names a
     * readable regular file (a batch run), and {@code slicesSha256}, SHA-256 of the sorted slice ids joined by
     * {@code '\n'}, when {@code calibration.slices} lists them (a streaming export). Values already present are kept.
     */
    static void addCalibrationHashes(ObjectNode report) {
        JsonNode cal = report.get("calibration");
        if (!(cal instanceof ObjectNode c)) {
            return;
        }
        JsonNode file = c.get("file");
        if (file != null && file.isTextual() && !c.has("sha256")) {
            Path p = Path.of(file.asText());
            if (Files.isRegularFile(p)) {
                try {
                    c.put("sha256", sha256(p));
                    c.put("bytes", Files.size(p));
                } catch (IOException e) {
                    c.putNull("sha256");
                }
            }
        }
        JsonNode slices = c.get("slices");
        if (slices != null && slices.isArray() && !c.has("slicesSha256")) {
            List<String> ids = new ArrayList<>();
            slices.forEach(s -> ids.add(s.asText()));
            ids.sort(null);
            c.put("slicesSha256", sha256(String.join("\n", ids).getBytes(StandardCharsets.UTF_8)));
        }
    }

    /** {@code gblm} (null when not run from a built jar), {@code java}, {@code javaVendor}, {@code djl}, {@code pytorch}. */
    static ObjectNode versions(ObjectNode into) {
        into.put("gblm", gblmVersion());
        into.put("java", Runtime.version().toString());
        into.put("javaVendor", System.getProperty("java.vendor"));
        Properties djl = properties("ai/djl/engine/api.properties");
        into.put("djl", djl.getProperty("djl_version"));
        Properties pt = properties("pytorch-engine.properties");
        into.put("pytorch", pt.getProperty("pytorch_version"));
        return into;
    }

    static String gblmVersion() {
        String v = Provenance.class.getPackage() == null ? null : Provenance.class.getPackage().getImplementationVersion();
        if (v == null) {
            v = properties("META-INF/maven/dev.gblm/gblm/pom.properties").getProperty("version");
        }
        return v;
    }

    private static Properties properties(String resource) {
        Properties p = new Properties();
        ClassLoader cl = Provenance.class.getClassLoader();
        try (InputStream in = cl == null ? null : cl.getResourceAsStream(resource)) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException | IllegalArgumentException ignored) {
            // a version we cannot read is reported as null
        }
        return p;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
