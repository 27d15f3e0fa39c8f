package dev.gblm.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What consumers check before acting on a record: nothing malformed may reach a path, a store key or a merge. */
class RecordValidationTest {
    private static final String PROFILE = "0123456789abcdef";

    private static JobSpec spec(String id) {
        return new JobSpec(id, PROFILE, List.of("a"), "wanda", 0.5, "unstructured", null, null, 0, 0, 0);
    }

    private static ModuleLayout layout() {
        return new ModuleLayout(0, "q_proj", 8, 8, List.of(0, 4));
    }

    private static EpochRecord epoch(String job, List<ModuleLayout> blocks) {
        return new EpochRecord(job, 1, PROFILE, spec("j"), List.of("s1"), 1, 1, List.of("a"), blocks, 0, null, 0, "f");
    }

    @Test
    void idsThatCouldEscapeADirectoryAreRefused() {
        for (String bad : new String[] {".", "..", ".hidden", "a/b", "", "x".repeat(201)}) {
            assertThat(Ids.isSafe(bad)).as(bad).isFalse();
            assertThatThrownBy(() -> spec(bad).validated()).as(bad).isInstanceOf(GblmException.class)
                    .hasMessageContaining("bad job id");
        }
        assertThat(Ids.isSafe("job-1.v2_a")).isTrue();
        assertThat(spec("job-1.v2_a").validated().id()).isEqualTo("job-1.v2_a");
    }

    @Test
    void jsonNullIsAMalformedRecordNotANullObject() {
        assertThatThrownBy(() -> Json.read("null".getBytes(StandardCharsets.UTF_8), BlockAck.class))
                .isInstanceOf(RecordFormatException.class).hasMessageContaining("JSON null");
    }

    @Test
    void acksAndInstructionsWithoutTheirFieldsAreRefused() {
        assertThatThrownBy(() -> Json.read("{}".getBytes(StandardCharsets.UTF_8), BlockAck.class).validate())
                .isInstanceOf(RecordFormatException.class);
        assertThat(new BlockAck("j", 1, "p/0/q_proj/0").validate().job()).isEqualTo("j");
        assertThatThrownBy(() -> Json.read("{}".getBytes(StandardCharsets.UTF_8), BlockInstruction.class).validate())
                .isInstanceOf(RecordFormatException.class).hasMessageContaining("no type");
        assertThatThrownBy(() -> Json.read("{\"type\":\"FINALIZE\",\"sliceIds\":[\"s\"]}".getBytes(StandardCharsets.UTF_8),
                BlockInstruction.class).validate()).isInstanceOf(RecordFormatException.class);
        assertThatThrownBy(() -> BlockInstruction.retire(List.of()).validate()).isInstanceOf(RecordFormatException.class);
        BlockInstruction ok = new BlockInstruction(BlockInstruction.Type.FINALIZE, "j", 1, spec("j").validated(), 4, 8,
                List.of("s1"), null);
        assertThat(ok.validate()).isSameAs(ok);
        JobSpec magnitude = new JobSpec("m", PROFILE, List.of("a"), "magnitude", 0.5, "unstructured", null, null, 0, 0, 0)
                .validated();
        assertThatThrownBy(() -> new BlockInstruction(BlockInstruction.Type.FINALIZE, "m", 1, magnitude, 4, 8,
                List.of("s1"), null).validate()).hasMessageContaining("threshold");
    }

    @Test
    void forgedEpochRecordsAreRefused() {
        assertThat(epoch("j", List.of(layout())).validate().job()).isEqualTo("j");
        assertThatThrownBy(() -> epoch("../../x", List.of(layout())).validate()).isInstanceOf(RecordFormatException.class)
                .hasMessageContaining("unsafe");
        assertThatThrownBy(() -> epoch("j", List.of()).validate()).hasMessageContaining("no blocks");
        assertThatThrownBy(() -> epoch("j", List.of(new ModuleLayout(0, "q_proj", 8, 8, List.of(4, 0)))).validate())
                .isInstanceOf(RecordFormatException.class);
        assertThatThrownBy(() -> epoch("j", List.of(new ModuleLayout(0, "nope", 8, 8, List.of(0)))).validate())
                .hasMessageContaining("unknown module");
    }

    @Test
    void aBaseMustBeTheJobsOwnEarlierVersionAndOlderRecordsStillParse() {
        EpochRecord one = epoch("j", List.of(layout()));
        // a record written before bases existed (no "base" field) reads as one without a base, and writes the same JSON
        EpochRecord old = Json.read(Json.write(one), EpochRecord.class);
        assertThat(old.base()).isNull();
        assertThat(old.mergeOrder()).containsExactly("s1");
        assertThat(new String(Json.write(old), StandardCharsets.UTF_8)).doesNotContain("base");

        EpochBase base = new EpochBase("j", 1, List.of("s0"), 4, 40);
        EpochRecord two = new EpochRecord("j", 2, PROFILE, spec("j"), List.of("s1"), 5, 50, List.of("a"), List.of(layout()), 0,
                null, 0, "f", base);
        assertThat(Json.read(Json.write(two), EpochRecord.class).validate()).isEqualTo(two);
        assertThat(two.mergeOrder()).containsExactly("s0", "s1");
        EpochRecord twice = new EpochRecord("j", 2, PROFILE, spec("j"), List.of("s0"), 8, 80, List.of("a"), List.of(layout()), 0,
                null, 0, "f", base);
        assertThatThrownBy(twice::validate).hasMessageContaining("twice");
        EpochRecord foreign = new EpochRecord("j", 2, PROFILE, spec("j"), List.of("s1"), 5, 50, List.of("a"), List.of(layout()),
                0, null, 0, "f", new EpochBase("other", 1, List.of("s0"), 4, 40));
        assertThatThrownBy(foreign::validate).isInstanceOf(RecordFormatException.class);
        EpochRecord notEarlier = new EpochRecord("j", 1, PROFILE, spec("j"), List.of("s1"), 5, 50, List.of("a"),
                List.of(layout()), 0, null, 0, "f", base);
        assertThatThrownBy(notEarlier::validate).isInstanceOf(RecordFormatException.class);

        assertThat(BlockInstruction.fold("j", 2, base.reference(), List.of("s1")).validate().type())
                .isEqualTo(BlockInstruction.Type.FOLD);
        assertThat(BlockInstruction.fold("j", 1, null, List.of("s0")).validate().base()).isNull();
        assertThatThrownBy(() -> BlockInstruction.fold("j", 1, base.reference(), List.of("s1")).validate())
                .isInstanceOf(RecordFormatException.class);
        assertThatThrownBy(() -> BlockInstruction.fold("../x", 1, null, List.of("s1")).validate())
                .isInstanceOf(RecordFormatException.class);
    }
}
