package dev.gblm.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The held-out rule and the profile and slice fields that carry it. */
class HoldOutTest {
    private static byte[] key(int i) {
        return ("doc-" + i).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void positionIsAStableHashOfTopicAndKey() throws Exception {
        // independent computation: SHA-256("gblm-holdout-v1\n<topic>\n" + key), first 8 bytes, top 53 bits / 2^53
        byte[] h = MessageDigest.getInstance("SHA-256").digest("gblm-holdout-v1\ncalib.a\ndoc-7".getBytes(StandardCharsets.UTF_8));
        long top = Long.parseUnsignedLong(HexFormat.of().formatHex(h, 0, 8), 16) >>> 11;
        assertThat(HoldOut.position("calib.a", key(7))).isEqualTo(top / Math.pow(2, 53));
        assertThat(HoldOut.position("calib.a", key(7))).isNotEqualTo(HoldOut.position("calib.b", key(7)));
        assertThat(HoldOut.position("calib.a", null)).isEqualTo(1.0);
        assertThat(HoldOut.isHeldOut("calib.a", null, 0.99)).isFalse();
    }

    @Test
    void fractionsNestAndHoldOutAboutThatShare() {
        int n = 20_000;
        int atTenth = 0;
        int atQuarter = 0;
        for (int i = 0; i < n; i++) {
            boolean tenth = HoldOut.isHeldOut("calib.a", key(i), 0.1);
            boolean quarter = HoldOut.isHeldOut("calib.a", key(i), 0.25);
            assertThat(HoldOut.isHeldOut("calib.a", key(i), 0)).isFalse();
            if (tenth) {
                assertThat(quarter).as("held out at 0.1 implies held out at 0.25").isTrue();
                atTenth++;
            }
            atQuarter += quarter ? 1 : 0;
        }
        // binomial: sd = sqrt(n p (1-p)) = 42 and 61; 5 sd bounds
        assertThat(atTenth).isBetween(2000 - 210, 2000 + 210);
        assertThat(atQuarter).isBetween(5000 - 305, 5000 + 305);
    }

    @Test
    void aProfileWithoutHoldOutKeepsItsIdAndJson() throws Exception {
        Profile p = new Profile("fp", 256, 100f, Profile.STREAMING_KINDS.bits(), 1 << 20);
        // independent computation of the id's canonical text as it was before the field existed
        String canonical = "gblm-profile-v1\nmodel=fp\nseqLen=256\ngradScale=" + Float.floatToIntBits(100f) + "\nstats=3\n"
                + "blockBytes=1048576\n";
        byte[] h = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
        assertThat(p.id()).isEqualTo(HexFormat.of().formatHex(h, 0, 8));
        JsonNode json = Json.mapper().readTree(Json.write(p));
        assertThat(json.has("holdout")).isFalse();
        Profile held = new Profile("fp", 256, 100f, Profile.STREAMING_KINDS.bits(), 1 << 20, 0.1);
        assertThat(held.id()).isNotEqualTo(p.id());
        assertThat(Json.read(Json.write(held), Profile.class)).isEqualTo(held);
        assertThat(Json.read(Json.write(p), Profile.class)).isEqualTo(p);
    }

    @Test
    void sliceRecordsCountHeldOutRecordsOnlyWhenThereAreSome() throws Exception {
        Profile p = new Profile("fp", 256, 100f, Profile.STREAMING_KINDS.bits(), 1 << 20, 0.1);
        List<OffsetRange> r = List.of(new OffsetRange("calib.a", 0, 0, 10));
        SliceRecord without = new SliceRecord("w-a-1", p.id(), p, "a", r, 10, 100, 0, 3, 5);
        assertThat(Json.mapper().readTree(Json.write(without)).has("heldOut")).isFalse();
        SliceRecord with = new SliceRecord("w-a-1", p.id(), p, "a", r, 8, 80, 0, 3, 5, 2);
        assertThat(Json.read(Json.write(with), SliceRecord.class).validate()).isEqualTo(with);
    }
}
