package dev.gblm.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.SampleRecord;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DocumentReaderTest {
    record Seen(List<String> docs, List<Long> docLines, List<String> skips, List<String> messages) {
        Seen(List<String> docs, List<Long> docLines, List<String> skips) {
            this(docs, docLines, skips, new ArrayList<>());
        }
    }

    static Seen read(byte[] input, DocumentReader.Format f) throws Exception {
        return read(new ByteArrayInputStream(input), f, Ingestor.MAX_DOCUMENT_BYTES);
    }

    static Seen read(InputStream input, DocumentReader.Format f, int maxBytes) throws Exception {
        Seen seen = new Seen(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        DocumentReader.read(input, f, maxBytes, new DocumentReader.Sink() {
            @Override
            public void document(SampleRecord s, long line) {
                seen.docs().add(s.text() != null ? s.text() : java.util.Arrays.toString(s.tokens()));
                seen.docLines().add(line);
            }

            @Override
            public void skipped(long line, String reason, String message) {
                seen.skips().add(line + ":" + reason);
                seen.messages().add(message);
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

    @Test
    void aJsonLineOverTheLimitIsSkippedAsTooLargeAndTheNextDocumentStillRead() throws Exception {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(utf8("{\"text\":\"before\"}\n{\"text\":\""));
        byte[] big = new byte[6_000_000]; // over the 4 MiB ingest limit
        Arrays.fill(big, (byte) 'x');
        b.writeBytes(big);
        b.writeBytes(utf8("\"}\r\n{\"text\":\"after\"}\n"));
        Seen s = read(b.toByteArray(), DocumentReader.Format.JSONL); // the default limit, Ingestor.MAX_DOCUMENT_BYTES
        assertThat(s.docs()).containsExactly("before", "after");
        assertThat(s.docLines()).containsExactly(1L, 3L);
        assertThat(s.skips()).containsExactly("2:too-large");
        assertThat(s.messages()).containsExactly("document of 6000011 bytes (as JSON) exceeds the limit of "
                + Ingestor.MAX_DOCUMENT_BYTES + " bytes");
    }

    @Test
    void aTextDocumentOverTheLimitIsSkippedWholeWhetherOneLineOrMany() throws Exception {
        String in = "short one\n\n"
                + "0123456789\n0123456789\n0123456789\n" // 32 bytes with its newlines: over a 25-byte limit
                + "\n"
                + "x".repeat(40) + "\n"                  // one line over the limit
                + "   " + " ".repeat(40) + "\n"           // a long blank line still separates documents
                + "fits: 0123456789\n";
        Seen s = read(new ByteArrayInputStream(utf8(in)), DocumentReader.Format.TEXT, 25);
        assertThat(s.docs()).containsExactly("short one", "fits: 0123456789");
        assertThat(s.docLines()).containsExactly(1L, 9L);
        assertThat(s.skips()).containsExactly("3:too-large", "7:too-large");
        assertThat(s.messages()).containsExactly("document of 32 bytes (as text) exceeds the limit of 25 bytes",
                "document of 40 bytes (as text) exceeds the limit of 25 bytes");
    }

    @Test
    void lineEndsAcrossReadBuffersAreFound() throws Exception {
        // the reader fills 64 KiB at a time: a \r\n and a lone \r split across two reads
        String a = "a".repeat(65535);
        String b = "b".repeat(65529); // second read: "\nnext\n" + b + "\r" is exactly 64 KiB
        Seen s = read(utf8(a + "\r\nnext\n" + b + "\rc\n\nlast\r"), DocumentReader.Format.TEXT);
        assertThat(s.docs()).containsExactly(a + "\nnext\n" + b + "\rc", "last");
    }

    /**
     * The reader streams past an over-long line: a 300 MB line is read by a JVM with a 48 MB heap (a reader that
     * buffered the line before its size check ran out of memory). A child JVM, so the heap limit is real.
     */
    @Test
    void aHugeLineIsSkippedWithoutHoldingItInMemory() throws Exception {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx48m",
                "-cp", System.getProperty("java.class.path"), HugeLine.class.getName(), "300000000")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("docs=[first, last] skips=[2:too-large]");
        assertThat(p.exitValue()).as(out).isZero();
    }

    /** Reads {@code {"text":"first"}}, a JSON line of {@code args[0]} bytes (generated, never stored) and a last line. */
    public static final class HugeLine {
        public static void main(String[] args) throws Exception {
            long size = Long.parseLong(args[0]);
            byte[] head = utf8("{\"text\":\"first\"}\n{\"text\":\"");
            byte[] tail = utf8("\"}\n{\"text\":\"last\"}\n");
            long total = head.length + size + tail.length;
            InputStream in = new InputStream() {
                long pos;

                @Override
                public int read() {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] buf, int off, int len) {
                    if (pos >= total) {
                        return -1;
                    }
                    int n = 0;
                    while (n < len && pos < total) {
                        long i = pos;
                        buf[off + n] = i < head.length ? head[(int) i]
                                : i < head.length + size ? (byte) 'x' : tail[(int) (i - head.length - size)];
                        n++;
                        pos++;
                    }
                    return n;
                }
            };
            Seen s = read(in, DocumentReader.Format.JSONL, Ingestor.MAX_DOCUMENT_BYTES);
            System.out.println("docs=" + s.docs() + " skips=" + s.skips());
        }
    }
}
