package dev.merv.data.cache;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SHA-256 of file contents, remembered by the file's identity (path, size, modification and change time,
 * inode) so that a video is read once per cache rather than once per epoch. A rewritten file changes its
 * change time (which no tool can set back), so its old hash is never reused. With a memo file the hashes
 * outlive the process (the cache keeps one beside its shards).
 */
public final class FileHashes {

    private static final Logger LOG = LoggerFactory.getLogger(FileHashes.class);

    private final Path memo;
    private final Map<String, String> known = new ConcurrentHashMap<>();
    private volatile boolean dirty;

    /** @param memo where hashes are remembered between processes (null: in this process only) */
    public FileHashes(Path memo) {
        this.memo = memo;
        if (memo != null && Files.exists(memo)) {
            try {
                JsonObject o = JsonParser.parseString(Files.readString(memo)).getAsJsonObject();
                o.entrySet().forEach(e -> known.put(e.getKey(), e.getValue().getAsString()));
            } catch (IOException | RuntimeException e) {
                // a damaged memo only costs hashing again
                LOG.warn("file hashes {}: unreadable ({}); hashing files again", memo, e.toString());
            }
        }
    }

    /** The hex SHA-256 of {@code file}'s bytes. */
    public String sha256(Path file) throws IOException {
        String id = identity(file);
        String h = known.get(id);
        if (h == null) {
            h = digest(file);
            known.put(id, h);
            dirty = true;
        }
        return h;
    }

    /** Writes the memo file (merged with what other processes wrote meanwhile). */
    public void save() {
        if (memo == null || !dirty) {
            return;
        }
        dirty = false;
        Map<String, String> all = new java.util.TreeMap<>();
        if (Files.exists(memo)) {
            try {
                JsonParser.parseString(Files.readString(memo)).getAsJsonObject().entrySet()
                        .forEach(e -> all.put(e.getKey(), e.getValue().getAsString()));
            } catch (IOException | RuntimeException e) {
                // replaced below
            }
        }
        all.putAll(known);
        JsonObject o = new JsonObject();
        all.forEach(o::addProperty);
        try {
            AtomicFiles.writeString(memo, o.toString());
        } catch (UncheckedIOException e) {
            LOG.warn("file hashes: cannot write {} ({}); they are computed again next time", memo, e.getMessage());
        }
    }

    private static String identity(Path file) throws IOException {
        Path real = file.toRealPath();
        BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class);
        StringBuilder id = new StringBuilder(real.toString()).append('|').append(a.size()).append('|')
                .append(a.lastModifiedTime().toMillis());
        try {
            Map<String, Object> unix = Files.readAttributes(real, "unix:ctime,ino");
            id.append('|').append(unix.get("ctime")).append('|').append(unix.get("ino"));
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            // not a Unix file system: path, size and modification time
        }
        return id.toString();
    }

    static String digest(Path file) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The hex SHA-256 of {@code text} (UTF-8). */
    static String digest(String text) {
        return HexFormat.of().formatHex(sha256().digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
