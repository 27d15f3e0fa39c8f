package dev.gblm.stream.worker;

import dev.gblm.GblmException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * A default worker id that is unique on this host and stable across restarts: the host name plus the lowest free
 * <i>slot</i>, a slot being held by an exclusive lock on the file {@code <host>_<slot>.lock} in a lock directory.
 * Slot 0 is the bare host name (the id workers had before slots existed), slot {@code n > 0} is
 * {@code <host>_<n>}. Host names cannot contain {@code _} (it is replaced here), so no host's slot id equals another
 * host's name.
 *
 * <p>Two workers on one host thus get different ids and transactional ids instead of fencing each other, and a
 * restarted worker gets the lowest free slot again, normally its old id, so it fences its predecessor's open
 * transaction. The lock is the operating system's ({@link FileChannel#tryLock}): it is released when the holder
 * closes it or its process ends in any way, kill -9 included, so no stale lock survives a crash. A predecessor that
 * still runs (a hung process) keeps its slot, and the new worker takes the next one. The lock files stay on disk;
 * deleting a held one would let a second process lock a new file of the same name.
 */
public final class WorkerIdLock implements AutoCloseable {
    /** Slots tried before giving up (a host with more workers passes --worker-id explicitly). */
    public static final int MAX_SLOTS = 64;
    /** Longest host part, so that {@code <host>_<slot>} stays within the 100 characters of a worker id. */
    private static final int MAX_HOST_CHARS = 96;

    private final String workerId;
    private final int slot;
    private final FileChannel channel;
    private final FileLock lock;

    private WorkerIdLock(String workerId, int slot, FileChannel channel, FileLock lock) {
        this.workerId = workerId;
        this.slot = slot;
        this.channel = channel;
        this.lock = lock;
    }

    /** {@code <java.io.tmpdir>/gblm-worker-ids}. */
    public static Path defaultDirectory() {
        return Path.of(System.getProperty("java.io.tmpdir"), "gblm-worker-ids");
    }

    /** This host's name as a worker id part: characters outside {@code A-Z a-z 0-9 . -} become {@code -}. */
    public static String hostName() {
        String h;
        try {
            h = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            h = "worker";
        }
        return sanitize(h);
    }

    static String sanitize(String host) {
        String s = host.replaceAll("[^A-Za-z0-9.-]", "-");
        if (s.isEmpty()) {
            s = "worker";
        }
        return s.length() > MAX_HOST_CHARS ? s.substring(0, MAX_HOST_CHARS) : s;
    }

    /** The id of {@code slot} on {@code host}. */
    public static String idOf(String host, int slot) {
        return slot == 0 ? host : host + "_" + slot;
    }

    /** Locks the lowest free slot of this host in the default directory. */
    public static WorkerIdLock acquire() {
        return acquire(defaultDirectory(), hostName());
    }

    /**
     * Locks the lowest free slot of {@code host} in {@code dir} (created if missing). A slot is busy when another
     * process, or another holder in this process, has its file locked, or when its file cannot be opened (another
     * user's).
     *
     * @throws GblmException when the directory cannot be created or every slot is busy
     */
    public static WorkerIdLock acquire(Path dir, String host) {
        String h = sanitize(host);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new GblmException("cannot create the worker id lock directory " + dir + " (" + e.getMessage()
                    + "): pass --worker-id");
        }
        for (int slot = 0; slot < MAX_SLOTS; slot++) {
            Path file = dir.resolve(h.toLowerCase(Locale.ROOT) + "_" + slot + ".lock");
            FileChannel ch;
            try {
                ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            } catch (IOException e) {
                continue;
            }
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by this very process (another worker of it)
            } catch (IOException e) {
                lock = null;
            }
            if (lock == null) {
                closeQuietly(ch);
                continue;
            }
            String id = idOf(h, slot);
            try {
                // for whoever looks into the directory: which process holds the slot
                ch.truncate(0);
                ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + " " + id + "\n")
                        .getBytes(StandardCharsets.UTF_8)), 0);
            } catch (IOException e) {
                // the lock is what matters, the note is a courtesy
            }
            return new WorkerIdLock(id, slot, ch, lock);
        }
        throw new GblmException("all " + MAX_SLOTS + " worker id slots of host " + h + " in " + dir
                + " are taken: pass --worker-id");
    }

    public String workerId() {
        return workerId;
    }

    public int slot() {
        return slot;
    }

    /** Releases the slot; idempotent. */
    @Override
    public void close() {
        try {
            if (lock.isValid()) {
                lock.release();
            }
        } catch (IOException e) {
            // closing the channel below releases it too
        }
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // nothing held any more
        }
    }

    @Override
    public String toString() {
        return "WorkerIdLock[" + workerId + "]";
    }
}
