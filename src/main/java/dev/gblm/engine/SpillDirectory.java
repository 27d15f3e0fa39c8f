package dev.gblm.engine;

import dev.gblm.GblmException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A fresh {@code gblm-spill-*} directory of flat files, written and read whole with {@link FileChannel} in big
 * chunks (no mapping: a mapped file cannot be deleted reliably while a mapping lives), removed with everything in it
 * by {@link #close}. Values are stored in the platform's byte order: the files never outlive the process.
 */
final class SpillDirectory implements AutoCloseable {
    /** Bytes moved per channel call when copying float arrays (bounds the transfer buffer). */
    private static final int CHUNK = 8 << 20;

    /**
     * The directories of this process still open: a new one must fit beside what they are still to write on the
     * same file system (a sequential run holds gradient sums and activations at once).
     */
    private static final Set<SpillDirectory> LIVE = new HashSet<>();

    private final Path dir;
    private final FileStore store;
    private final long need;
    /** Bytes in this directory's files now (written minus deleted); read by other threads' {@link #create}. */
    private final AtomicLong onDisk = new AtomicLong();
    private long bytesWritten;
    private ByteBuffer chunk;

    private SpillDirectory(Path dir, FileStore store, long need) {
        this.dir = dir;
        this.store = store;
        this.need = need;
    }

    /**
     * Creates the directory under {@code parent} (null: {@code java.io.tmpdir}) for up to {@code need} bytes of
     * {@code what}; refused in one line, before any work, when its file system has less space free than that plus
     * what the process's other open spill directories there are still to write (a run would otherwise fail with
     * "No space left on device" after its longest phase).
     */
    static SpillDirectory create(Path parent, long need, String what) {
        String where = String.valueOf(parent == null ? System.getProperty("java.io.tmpdir") : parent);
        Path d;
        try {
            d = parent == null ? Files.createTempDirectory("gblm-spill-")
                    : Files.createTempDirectory(Files.createDirectories(parent), "gblm-spill-");
        } catch (IOException e) {
            throw new GblmException("cannot create a spill directory under " + where + ": " + e, e);
        }
        FileStore store;
        long free;
        try {
            store = Files.getFileStore(d);
            free = store.getUsableSpace();
        } catch (IOException e) {
            store = null;
            free = Long.MAX_VALUE; // unknown: let the writes tell
        }
        synchronized (LIVE) {
            long promised = 0;
            for (SpillDirectory o : LIVE) {
                if (store != null && store.equals(o.store)) {
                    promised += Math.max(0, o.need - o.onDisk.get());
                }
            }
            if (free - promised < need) {
                try {
                    Files.deleteIfExists(d);
                } catch (IOException ignored) {
                    // an empty temporary directory left behind is harmless next to the refusal
                }
                throw new GblmException(String.format(Locale.ROOT, "%s need %.1f GB of disk under %s, but only %.1f GB "
                        + "are free there%s: free some space or choose another --spill-dir", what, need / 1e9, where,
                        free / 1e9, promised == 0 ? "" : String.format(Locale.ROOT,
                                ", %.1f GB of which other spill files of this run are still to take", promised / 1e9)));
            }
            SpillDirectory sd = new SpillDirectory(d, store, need);
            LIVE.add(sd);
            return sd;
        }
    }

    Path path() {
        return dir;
    }

    /** Total bytes written so far (files deleted since included). */
    long bytesWritten() {
        return bytesWritten;
    }

    /** Writes {@code data}'s remaining bytes as file {@code name}. */
    void write(String name, ByteBuffer data) {
        try (FileChannel ch = open(name, true)) {
            while (data.hasRemaining()) {
                written(ch.write(data));
            }
        } catch (IOException e) {
            throw failure("write", name, e);
        }
    }

    /** Writes the arrays one after the other as file {@code name}. */
    void writeFloats(String name, float[]... arrays) {
        ByteBuffer b = chunk();
        FloatBuffer f = b.asFloatBuffer(); // the whole chunk: chunk() hands it out cleared
        try (FileChannel ch = open(name, true)) {
            inChunks(arrays, f.capacity(), (a, o, n) -> {
                f.clear();
                f.put(a, o, n);
                b.clear().limit(n * Float.BYTES);
                while (b.hasRemaining()) {
                    written(ch.write(b));
                }
            });
        } catch (IOException e) {
            throw failure("write", name, e);
        }
    }

    /** One piece of an array: {@code n} floats from {@code offset}. */
    @FunctionalInterface
    private interface Piece {
        void accept(float[] array, int offset, int n) throws IOException;
    }

    /** The arrays in order, cut into pieces of at most {@code size} floats (one chunk buffer each). */
    private static void inChunks(float[][] arrays, int size, Piece piece) throws IOException {
        for (float[] a : arrays) {
            for (int o = 0; o < a.length; o += size) {
                piece.accept(a, o, Math.min(size, a.length - o));
            }
        }
    }

    /** File {@code name} whole, in a new direct buffer of the platform's order, ready to read. */
    ByteBuffer read(String name) {
        try (FileChannel ch = open(name, false)) {
            ByteBuffer b = ByteBuffer.allocateDirect(Math.toIntExact(ch.size())).order(ByteOrder.nativeOrder());
            readFully(ch, b, name);
            return b.flip();
        } catch (IOException e) {
            throw failure("read", name, e);
        }
    }

    /** Fills the arrays, in order, from file {@code name} (as written by {@link #writeFloats}). */
    void readFloats(String name, float[]... arrays) {
        ByteBuffer b = chunk();
        FloatBuffer f = b.asFloatBuffer(); // the whole chunk: chunk() hands it out cleared
        try (FileChannel ch = open(name, false)) {
            inChunks(arrays, f.capacity(), (a, o, n) -> {
                b.clear().limit(n * Float.BYTES);
                readFully(ch, b, name);
                f.clear();
                f.get(a, o, n);
            });
        } catch (IOException e) {
            throw failure("read", name, e);
        }
    }

    void delete(String name) {
        Path p = dir.resolve(name);
        try {
            long size = Files.exists(p) ? Files.size(p) : 0;
            Files.deleteIfExists(p);
            onDisk.addAndGet(-size);
        } catch (IOException e) {
            throw failure("delete", name, e);
        }
    }

    /** Deletes every file and the directory itself. */
    @Override
    public void close() {
        synchronized (LIVE) {
            LIVE.remove(this);
        }
        chunk = null;
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> files = Files.list(dir)) {
                    for (Path p : (Iterable<Path>) files::iterator) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new GblmException("cannot delete spill directory " + dir + ": " + e, e);
        }
    }

    private void written(int n) {
        bytesWritten += n;
        onDisk.addAndGet(n);
    }

    private FileChannel open(String name, boolean create) throws IOException {
        Path p = dir.resolve(name);
        return create ? FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)
                : FileChannel.open(p, StandardOpenOption.READ);
    }

    /** The transfer buffer, cleared (a view made of it spans all of it). */
    private ByteBuffer chunk() {
        if (chunk == null) {
            chunk = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.nativeOrder());
        }
        return chunk.clear();
    }

    private static void readFully(FileChannel ch, ByteBuffer b, String name) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new IOException("spill file " + name + " ends early");
            }
        }
    }

    private GblmException failure(String what, String name, IOException e) {
        return new GblmException("cannot " + what + " spill file " + dir.resolve(name) + ": " + e, e);
    }
}
