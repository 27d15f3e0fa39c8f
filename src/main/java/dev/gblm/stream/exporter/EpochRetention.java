package dev.gblm.stream.exporter;

import dev.gblm.GblmException;
import dev.gblm.prune.batch.PrunedModelWriter;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * What a job directory holds once an epoch is exported and announced: a {@code latest} symbolic link to the newest
 * complete epoch, replaced atomically (a reader following it always finds a whole export), and with {@code keep > 0}
 * only the newest {@code keep} complete epochs. Runs after the epoch's event is committed, so nothing an uncommitted
 * replay could still need is removed.
 */
final class EpochRetention {
    static final String LATEST = "latest";
    private static final Pattern EPOCH_DIR = Pattern.compile("epoch-([1-9][0-9]{0,9})");

    private EpochRetention() {}

    /**
     * Points {@code jobDir/latest} at the newest complete {@code epoch-<n>} and, with {@code keep > 0}, deletes the
     * complete epochs older than the newest {@code keep}. Returns the deleted directories.
     */
    static List<Path> apply(Path jobDir, int keep) {
        TreeMap<Integer, Path> complete = completeEpochs(jobDir);
        if (complete.isEmpty()) {
            return List.of();
        }
        pointLatest(jobDir, complete.lastEntry().getValue().getFileName().toString());
        List<Path> deleted = new ArrayList<>();
        if (keep > 0) {
            while (complete.size() > keep) {
                Path old = complete.pollFirstEntry().getValue();
                delete(jobDir, old);
                deleted.add(old);
            }
        }
        return deleted;
    }

    /** {@code epoch-<n>} directories of {@code jobDir} whose export is complete (verified marker), by epoch. */
    static TreeMap<Integer, Path> completeEpochs(Path jobDir) {
        TreeMap<Integer, Path> out = new TreeMap<>();
        if (!Files.isDirectory(jobDir, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        try (Stream<Path> s = Files.list(jobDir)) {
            for (Path p : s.toList()) {
                Matcher m = EPOCH_DIR.matcher(p.getFileName().toString());
                if (m.matches() && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && PrunedModelWriter.incompleteReason(p) == null) {
                    out.put(Integer.parseInt(m.group(1)), p);
                }
            }
        } catch (IOException e) {
            throw new GblmException("cannot list " + jobDir + ": " + e.getMessage(), e);
        }
        return out;
    }

    /** Replaces {@code jobDir/latest} by a link to {@code target} (a sibling name) with one atomic rename. */
    private static void pointLatest(Path jobDir, String target) {
        Path latest = jobDir.resolve(LATEST);
        try {
            if (Files.isSymbolicLink(latest) && Files.readSymbolicLink(latest).toString().equals(target)) {
                return;
            }
            if (Files.exists(latest, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(latest)) {
                throw new GblmException(latest + " exists and is not a symbolic link: not replacing it");
            }
            try (Stream<Path> s = Files.list(jobDir)) {
                for (Path stale : s.filter(p -> p.getFileName().toString().startsWith("." + LATEST + ".tmp-")).toList()) {
                    Files.deleteIfExists(stale); // a link left by a crash between its creation and the rename
                }
            }
            Path tmp = jobDir.resolve("." + LATEST + ".tmp-" + UUID.randomUUID());
            Files.createSymbolicLink(tmp, Path.of(target));
            try {
                Files.move(tmp, latest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.deleteIfExists(tmp);
                throw new GblmException("cannot replace " + latest + " atomically on this file system", e);
            }
        } catch (IOException e) {
            throw new GblmException("cannot point " + latest + " at " + target + ": " + e.getMessage(), e);
        }
    }

    /** Renames the epoch out of the way first (a crash then leaves a leftover the next start removes), then deletes it. */
    private static void delete(Path jobDir, Path epoch) {
        Path old = jobDir.resolve("." + epoch.getFileName() + ".old-" + UUID.randomUUID());
        try {
            Files.move(epoch, old, StandardCopyOption.ATOMIC_MOVE);
            EpochExports.deleteTree(old);
        } catch (IOException e) {
            throw new GblmException("cannot delete " + epoch + " (--keep): " + e.getMessage(), e);
        }
    }
}
