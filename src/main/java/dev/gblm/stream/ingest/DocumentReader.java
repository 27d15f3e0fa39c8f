package dev.gblm.stream.ingest;

import dev.gblm.GblmException;
import dev.gblm.stream.InvalidSampleException;
import dev.gblm.stream.SampleRecord;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Splits an input into calibration documents, reporting every unusable piece instead of failing.
 *
 * <ul>
 *   <li>{@link Format#TEXT}: documents separated by blank (whitespace-only) lines; each document is
 *       its lines joined by {@code \n}, stripped. A document with bytes that are not UTF-8 is skipped.
 *   <li>{@link Format#JSONL}: one JSON object per line with {@code text} (or {@code tokens}) and an
 *       optional {@code id}; every other line is skipped with its reason (empty lines included).
 * </ul>
 * Line numbers are 1-based; a text document is reported at its first line.
 */
public final class DocumentReader {
    private DocumentReader() {}

    public enum Format {
        TEXT, JSONL;

        public static Format parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new GblmException("unknown format '" + s + "': use text or jsonl");
            }
        }
    }

    /** Receives documents and skipped pieces in input order. */
    public interface Sink {
        void document(SampleRecord sample, long line);

        void skipped(long line, String reason, String message);
    }

    public static void read(InputStream input, Format format, Sink sink) throws IOException {
        LineSource lines = new LineSource(input);
        if (format == Format.JSONL) {
            readJsonl(lines, sink);
        } else {
            readText(lines, sink);
        }
    }

    private static void readJsonl(LineSource lines, Sink sink) throws IOException {
        byte[] raw;
        while ((raw = lines.next()) != null) {
            long n = lines.number();
            try {
                String line = SampleRecord.utf8(raw, "line");
                if (line.isBlank()) {
                    sink.skipped(n, "empty-line", "empty line");
                    continue;
                }
                sink.document(SampleRecord.fromJsonObject(line), n);
            } catch (InvalidSampleException e) {
                sink.skipped(n, e.reason(), e.getMessage());
            }
        }
    }

    private static void readText(LineSource lines, Sink sink) throws IOException {
        List<byte[]> doc = new ArrayList<>();
        long start = 0;
        byte[] raw;
        while ((raw = lines.next()) != null) {
            if (isBlank(raw)) {
                flushText(doc, start, sink);
                doc.clear();
            } else {
                if (doc.isEmpty()) {
                    start = lines.number();
                }
                doc.add(raw);
            }
        }
        flushText(doc, start, sink);
    }

    private static void flushText(List<byte[]> doc, long start, Sink sink) {
        if (doc.isEmpty()) {
            return;
        }
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (int i = 0; i < doc.size(); i++) {
            if (i > 0) {
                joined.write('\n');
            }
            joined.writeBytes(doc.get(i));
        }
        try {
            String text = SampleRecord.utf8(joined.toByteArray(), "document").strip();
            sink.document(SampleRecord.ofText(text), start);
        } catch (InvalidSampleException e) {
            sink.skipped(start, e.reason(), e.getMessage());
        }
    }

    /** Whitespace-only in ASCII terms; a line with any other byte (even invalid UTF-8) is content. */
    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\f' && b != 0x0B) {
                return false;
            }
        }
        return true;
    }

    /** Raw lines as bytes (so each line's encoding is checked on its own), without \n or \r\n. */
    private static final class LineSource {
        private final InputStream in;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
        private long number;
        private boolean eof;

        LineSource(InputStream in) {
            this.in = in instanceof BufferedInputStream ? in : new BufferedInputStream(in, 1 << 16);
        }

        byte[] next() throws IOException {
            if (eof) {
                return null;
            }
            buf.reset();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                buf.write(b);
            }
            if (b < 0) {
                eof = true;
                if (buf.size() == 0) {
                    return null;
                }
            }
            number++;
            byte[] line = buf.toByteArray();
            if (line.length > 0 && line[line.length - 1] == '\r') {
                line = java.util.Arrays.copyOf(line, line.length - 1);
            }
            return line;
        }

        long number() {
            return number;
        }
    }
}
