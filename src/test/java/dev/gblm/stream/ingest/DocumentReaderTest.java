package dev.gblm.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.SampleRecord;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DocumentReaderTest {
    record Seen(List<String> docs, List<Long> docLines, List<String> skips) {}

    static Seen read(byte[] input, DocumentReader.Format f) throws Exception {
        Seen seen = new Seen(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        DocumentReader.read(new ByteArrayInputStream(input), f, new DocumentReader.Sink() {
            @Override
            public void document(SampleRecord s, long line) {
                seen.docs().add(s.text() != null ? s.text() : java.util.Arrays.toString(s.tokens()));
                seen.docLines().add(line);
            }

            @Override
            public void skipped(long line, String reason, String message) {
                seen.skips().add(line + ":" + reason);
            }
        });
        return seen;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void textDocumentsAreSeparatedByBlankLines() throws Exception {
        Seen s = read(utf8("\n\nfirst line\nsecond  \r\n \t \nthird\n\n\n  fourth\n"), DocumentReader.Format.TEXT);
        assertThat(s.docs()).containsExactly("first line\nsecond", "third", "fourth");
        assertThat(s.docLines()).containsExactly(3L, 6L, 9L);
        assertThat(s.skips()).isEmpty();
    }

    @Test
    void textWithoutTrailingNewlineAndNonUtf8Documents() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(utf8("good one\n\nbad "));
        b.write(0xFF);
        b.writeBytes(utf8(" bytes\n\nlast"));
        Seen s = read(b.toByteArray(), DocumentReader.Format.TEXT);
        assertThat(s.docs()).containsExactly("good one", "last");
        assertThat(s.skips()).containsExactly("3:not-utf8");
    }

    @Test
    void jsonlReportsEveryUnusableLine() throws Exception {
        String in = "{\"text\":\"a\"}\n"
                + "\n"
                + "{\"text\":\n"
                + "{\"text\":\"\"}\n"
                + "{\"tokens\":[1,2]}\n"
                + "\"just a string\"\n"
                + "{\"id\":\"x\",\"text\":\"b\"}";
        Seen s = read(utf8(in), DocumentReader.Format.JSONL);
        assertThat(s.docs()).containsExactly("a", "[1, 2]", "b");
        assertThat(s.docLines()).containsExactly(1L, 5L, 7L);
        assertThat(s.skips()).containsExactly("2:empty-line", "3:malformed-json", "4:empty-text", "6:not-an-object");
    }
}
