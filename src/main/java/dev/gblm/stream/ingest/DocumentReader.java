package dev.gblm.stream.ingest;

import dev.gblm.GblmException;
import dev.gblm.stream.InvalidSampleException;
import dev.gblm.stream.SampleRecord;
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
 *
 * <p><b>Bounded memory.</b> A line or text document longer than the byte limit (default
 * {@link Ingestor#MAX_DOCUMENT_BYTES}, more than the broker would accept anyway) is skipped with reason
 * {@value #TOO_LARGE} without being held in memory: its bytes are counted and dropped as they stream past. Memory is
 * therefore bounded by the limit, whatever the input (a 200 MB line costs what a 4 MB one does).
 */
public final class DocumentReader {
    /** Skip reason of a line or document over the byte limit. */
    public static final String TOO_LARGE = "too-large";

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

    /** Reads with the ingest limit {@link Ingestor#MAX_DOCUMENT_BYTES}. */
    public static void read(InputStream input, Format format, Sink sink) throws IOException {
        read(input, format, Ingestor.MAX_DOCUMENT_BYTES, sink);
    }

    /** @param maxBytes longest line (JSONL) or document (text, newlines included) kept; longer ones are skipped */
    public static void read(InputStream input, Format format, int maxBytes, Sink sink) throws IOException {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be >= 1: " + maxBytes);
        }
        LineSource lines = new LineSource(input, maxBytes);
        if (format == Format.JSONL) {
            readJsonl(lines, maxBytes, sink);
        } else {
            readText(lines, maxBytes, sink);
        }
    }

    private static void readJsonl(LineSource lines, int maxBytes, Sink sink) throws IOException {
        while (lines.next()) {
            long n = lines.number();
            if (lines.overflow()) {
                // a JSON line is the document's value as sent, give or take re-encoding
                sink.skipped(n, TOO_LARGE, tooLarge(lines.length(), "as JSON", maxBytes));
                continue;
            }
            try {
                String line = SampleRecord.utf8(lines.bytes(), "line");
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

    private static void readText(LineSource lines, int maxBytes, Sink sink) throws IOException {
        TextDocument doc = new TextDocument(maxBytes);
        while (lines.next()) {
            if (lines.blank()) {
                doc.flush(sink);
            } else {
                doc.add(lines);
            }
        }
        doc.flush(sink);
    }

    static String tooLarge(long bytes, String how, int maxBytes) {
        return "document of " + bytes + " bytes (" + how + ") exceeds the limit of " + maxBytes + " bytes";
    }

    /** The text document being collected: its lines while it fits the limit, only its size once it does not. */
    private static final class TextDocument {
        private final int maxBytes;
        private final List<byte[]> lines = new ArrayList<>();
        private long start;
        private long bytes;
        private boolean overflow;

        TextDocument(int maxBytes) {
            this.maxBytes = maxBytes;
        }

        void add(LineSource line) {
            if (isEmpty()) {
                start = line.number();
            } else {
                bytes++; // the joining newline
            }
            bytes += line.length();
            if (!overflow && (line.overflow() || bytes > maxBytes)) {
                overflow = true;
                lines.clear(); // from here on only the size is kept
            }
            if (!overflow) {
                lines.add(line.bytes());
            }
        }

        boolean isEmpty() {
            return bytes == 0 && lines.isEmpty() && !overflow;
        }

        void flush(Sink sink) {
            if (isEmpty()) {
                return;
            }
            if (overflow) {
                sink.skipped(start, TOO_LARGE, tooLarge(bytes, "as text", maxBytes));
            } else {
                ByteArrayOutputStream joined = new ByteArrayOutputStream((int) bytes);
                for (int i = 0; i < lines.size(); i++) {
                    if (i > 0) {
                        joined.write('\n');
                    }
                    joined.writeBytes(lines.get(i));
                }
                try {
                    String text = SampleRecord.utf8(joined.toByteArray(), "document").strip();
                    sink.document(SampleRecord.ofText(text), start);
                } catch (InvalidSampleException e) {
                    sink.skipped(start, e.reason(), e.getMessage());
                }
            }
            lines.clear();
            bytes = 0;
            overflow = false;
        }
    }

    /**
     * Raw lines as bytes (so each line's encoding is checked on its own), without {@code \n} or {@code \r\n}. A line
     * longer than the limit is not kept: {@link #overflow()} is set and only its {@link #length()} is known.
     */
    private static final class LineSource {
        private final InputStream in;
        private final int maxBytes;
        private final byte[] buf = new byte[1 << 16];
        private int pos;
        private int end;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
        private long length;
        private boolean overflow;
        private boolean blank;
        private long number;
        private boolean eof;

        LineSource(InputStream in, int maxBytes) {
            this.in = in;
            this.maxBytes = maxBytes;
        }

        /** Advances to the next line; false at the end of the input. */
        boolean next() throws IOException {
            if (eof) {
                return false;
            }
            line.reset();
            length = 0;
            overflow = false;
            blank = true;
            boolean sawAny = false;
            boolean cr = false; // the last byte seen was \r (dropped if the line ends right after it)
            while (true) {
                if (pos == end) {
                    end = in.read(buf, 0, buf.length);
                    pos = 0;
                    if (end <= 0) {
                        end = 0;
                        eof = true;
                        if (!sawAny) {
                            return false;
                        }
                        break;
                    }
                }
                sawAny = true;
                int from = pos;
                int nl = -1;
                for (int i = pos; i < end; i++) {
                    if (buf[i] == '\n') {
                        nl = i;
                        break;
                    }
                }
                int to = nl < 0 ? end : nl;
                pos = nl < 0 ? end : nl + 1;
                if (to > from) {
                    if (cr) {
                        append(new byte[] {'\r'}, 0, 1); // the \r was not the line's end after all
                    }
                    cr = buf[to - 1] == '\r';
                    append(buf, from, cr ? to - 1 - from : to - from);
                }
                if (nl >= 0) {
                    break;
                }
            }
            number++;
            return true;
        }

        private void append(byte[] b, int off, int len) {
            for (int i = off; i < off + len && blank; i++) {
                byte x = b[i];
                blank = x == ' ' || x == '\t' || x == '\f' || x == 0x0B;
            }
            length += len;
            if (overflow) {
                return;
            }
            if (length > maxBytes) {
                overflow = true;
                line.reset(); // only the length counts now (the buffer never grew past about twice the limit)
                return;
            }
            line.write(b, off, len);
        }

        /** The line's bytes; only while not {@link #overflow()}. */
        byte[] bytes() {
            if (overflow) {
                throw new IllegalStateException("line over the limit is not kept");
            }
            return line.toByteArray();
        }

        /** Whitespace-only in ASCII terms; a line with any other byte (even invalid UTF-8) is content. */
        boolean blank() {
            return blank;
        }

        boolean overflow() {
            return overflow;
        }

        /** The line's length in bytes, without its line end. */
        long length() {
            return length;
        }

        long number() {
            return number;
        }
    }
}
