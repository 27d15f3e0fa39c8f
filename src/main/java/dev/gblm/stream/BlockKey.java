package dev.gblm.stream;

import dev.gblm.model.LinearKind;
import java.nio.charset.StandardCharsets;

/**
 * Key of a statistics row block on {@code gblm.stats} and of its finalizer instructions:
 * {@code <profile>/<layer>/<module>/<rowStart>} (module as its short name, e.g. {@code q_proj}), UTF-8. Both
 * topics have the same partition count and are produced with the default partitioner on these exact bytes, so
 * every slice's block and every instruction for it meet in the same Kafka Streams task.
 */
public record BlockKey(String profile, int layer, LinearKind module, int rowStart) {
    public BlockKey {
        if (profile == null || profile.isEmpty() || profile.indexOf('/') >= 0 || profile.indexOf('|') >= 0) {
            throw new IllegalArgumentException("bad profile in block key: " + profile);
        }
        if (layer < 0 || rowStart < 0 || module == null) {
            throw new IllegalArgumentException("bad block key fields");
        }
    }

    @Override
    public String toString() {
        return profile + "/" + layer + "/" + module.shortName() + "/" + rowStart;
    }

    public byte[] bytes() {
        return toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Parses the wire form; throws {@link RecordFormatException} naming the problem. */
    public static BlockKey parse(String key) {
        if (key == null) {
            throw new RecordFormatException("statistics record has no key");
        }
        String[] p = key.split("/", -1);
        if (p.length != 4) {
            throw new RecordFormatException("bad block key '" + key + "' (expected profile/layer/module/rowStart)");
        }
        try {
            return new BlockKey(p[0], Integer.parseInt(p[1]), LinearKind.fromShortName(p[2]), Integer.parseInt(p[3]));
        } catch (IllegalArgumentException e) {
            throw new RecordFormatException("bad block key '" + key + "': " + e.getMessage());
        }
    }
}
