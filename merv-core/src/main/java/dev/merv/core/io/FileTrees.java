package dev.merv.core.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing a directory tree (scratch folders, rotated checkpoints). */
public final class FileTrees {

    private FileTrees() {}

    /** Deletes {@code dir} and everything under it; nothing when it does not exist; fails naming the tree. */
    public static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    /** {@link #delete}, for scratch folders at exit: a file that cannot be removed is left; says whether all went. */
    public static boolean deleteBestEffort(Path dir) {
        try {
            delete(dir);
            return true;
        } catch (UncheckedIOException e) {
            return false;
        }
    }
}
