package dev.merv.core.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/**
 * One writer per run directory: an exclusive lock on {@code {run}/run.lock} ({@link FileChannel#tryLock}, an
 * OS record lock), held until {@link #close} or the process's end. The operating system releases it when the
 * process dies, even by {@code kill -9}, so there is nothing to clean up; the file itself stays and names
 * the last holder ({@code pid}, {@code host}, {@code since}). A second process on a busy directory gets a
 * {@link RunDirectoryBusyException} naming the holder, before it loads anything. A file left by a dead
 * process is taken over (reported). Within one JVM a second trainer on the same directory is refused the
 * same way (the OS lock is per process).
 *
 * <p>On a shared file system the lock is as good as the file system's record locking (NFSv4 and Lustre
 * support it; some FUSE mounts do not).
 */
public final class RunLock implements AutoCloseable {

    /** The lock file's name in the run directory. */
    public static final String FILE = "run.lock";

    /** Run directories locked by this JVM: a second FileChannel on the same file would release the lock when closed. */
    private static final Set<Path> HELD = new HashSet<>();

    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean closed;

    private RunLock(Path key, FileChannel channel, FileLock lock) {
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /** Locks {@code runDir} (created if needed) for this process, or fails naming the process that holds it. */
    public static RunLock acquire(Path runDir, PrintStream report) {
        Path dir;
        try {
            Files.createDirectories(runDir);
            dir = runDir.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the run directory " + runDir, e);
        }
        Path file = dir.resolve(FILE);
        synchronized (HELD) {
            if (HELD.contains(dir)) {
                throw new RunDirectoryBusyException(runDir, "this process (pid " + ProcessHandle.current().pid()
                        + ") is already training into it");
            }
            FileChannel ch = null;
            try {
                ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    l = null;
                }
                if (l == null) {
                    String holder = holder(ch);
                    ch.close();
                    throw new RunDirectoryBusyException(runDir, holder);
                }
                String previous = read(ch);
                if (!previous.isBlank()) {
                    report.println("run directory " + runDir + ": taking over the lock left by " + describe(previous)
                            + ", which is no longer running");
                }
                write(ch, me());
                HELD.add(dir);
                return new RunLock(dir, ch, l);
            } catch (IOException e) {
                closeQuietly(ch);
                throw new UncheckedIOException("cannot lock " + file, e);
            } catch (RuntimeException e) {
                closeQuietly(ch);
                throw e;
            }
        }
    }

    /** Releases the lock; the file is emptied first, so what remains after a clean exit names nobody. */
    @Override
    public void close() {
        synchronized (HELD) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                channel.truncate(0);
                channel.force(true);
                lock.release();
            } catch (IOException e) {
                // the OS releases the lock with the channel below
            } finally {
                closeQuietly(channel);
                HELD.remove(key);
            }
        }
    }

    private static String holder(FileChannel ch) throws IOException {
        // the holder writes its name right after locking: give it a moment if the file is still empty
        for (int i = 0; i < 20; i++) {
            String s = read(ch);
            if (!s.isBlank()) {
                return describe(s);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return "another process (it has not written its name)";
    }

    private static String read(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(Math.max(ch.size(), 0), 4096));
        ch.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
    }

    private static void write(FileChannel ch, String text) throws IOException {
        ch.truncate(0);
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        long pos = 0;
        while (b.hasRemaining()) {
            pos += ch.write(b, pos);
        }
        ch.force(true);
    }

    private static String me() {
        JsonObject o = new JsonObject();
        o.addProperty("pid", ProcessHandle.current().pid());
        o.addProperty("host", host());
        o.addProperty("since", Instant.now().toString());
        return o + "\n";
    }

    /** {@code pid P on host H (since T)} from the lock file's text. */
    static String describe(String text) {
        try {
            JsonObject o = JsonParser.parseString(text.trim()).getAsJsonObject();
            return "pid " + o.get("pid").getAsLong() + " on host " + o.get("host").getAsString() + " (since "
                    + o.get("since").getAsString() + ")";
        } catch (RuntimeException e) {
            return "a process that wrote '" + text.trim() + "'";
        }
    }

    /** The host name without a DNS lookup (which can hang on a cluster node). */
    static String host() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) {
            return h;
        }
        try {
            Path p = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(p)) {
                return Files.readString(p).trim();
            }
        } catch (IOException e) {
            // fall through
        }
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                // nothing to do
            }
        }
    }
}
