package dev.merv.core.weights.torch;

import dev.merv.core.weights.TensorBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip archive (zip64 included), and where each record's bytes lie in the
 * file. java.util.zip does not say where an entry's data starts, and the tensor reader needs that
 * offset to read storages straight into tensor memory; so the few structures torch.save writes are
 * parsed here, each offset and size checked against the file before it is used.
 */
final class ZipDirectory {

    /** One record: its name, compression method, size, and where its local header starts. */
    record Entry(String name, int method, long compressedSize, long size, long localHeader, int flags) {}

    /** A record's data: bytes {@code [start, start + size)} of the file. */
    record Range(long start, long size) {
        long end() {
            return start + size;
        }
    }

    /** Largest central directory read (about two million records). */
    static final long MAX_DIRECTORY = 256L << 20;

    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;

    private final FileChannel channel;
    private final long fileSize;
    private final long centralStart;
    private final Map<String, Entry> entries;

    private ZipDirectory(FileChannel channel, long fileSize, long centralStart, Map<String, Entry> entries) {
        this.channel = channel;
        this.fileSize = fileSize;
        this.centralStart = centralStart;
        this.entries = entries;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** Parses the directory; an IllegalStateException says what is wrong. */
    static ZipDirectory read(FileChannel ch) throws IOException {
        long size = ch.size();
        int tail = (int) Math.min(size, 22 + 65535);
        ByteBuffer end = le(tail);
        TensorBytes.readFully(ch, end, size - tail);
        int eocd = -1;
        for (int i = tail - 22; i >= 0; i--) {
            if (end.getInt(i) == EOCD) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw new IllegalStateException("no end-of-central-directory record: a truncated or damaged zip archive");
        }
        long eocdPos = size - tail + eocd;
        long count = end.getShort(eocd + 10) & 0xFFFFL;
        long cdSize = end.getInt(eocd + 12) & 0xFFFFFFFFL;
        long cdStart = end.getInt(eocd + 16) & 0xFFFFFFFFL;
        long directoryEnd = eocdPos;
        if (count == 0xFFFF || cdSize == 0xFFFFFFFFL || cdStart == 0xFFFFFFFFL) {
            if (eocdPos < 20) {
                throw new IllegalStateException("zip64 sizes without a zip64 locator (truncated archive?)");
            }
            ByteBuffer loc = le(20);
            TensorBytes.readFully(ch, loc, eocdPos - 20);
            if (loc.getInt(0) != ZIP64_LOCATOR) {
                throw new IllegalStateException("zip64 sizes without a zip64 locator (truncated archive?)");
            }
            long z64 = loc.getLong(8);
            if (z64 < 0 || z64 + 56 > eocdPos - 20) {
                throw new IllegalStateException("zip64 end record at byte " + z64 + " is outside the archive");
            }
            ByteBuffer rec = le(56);
            TensorBytes.readFully(ch, rec, z64);
            if (rec.getInt(0) != ZIP64_EOCD) {
                throw new IllegalStateException("no zip64 end record where the locator points (byte " + z64 + ")");
            }
            count = rec.getLong(32);
            cdSize = rec.getLong(40);
            cdStart = rec.getLong(48);
            directoryEnd = z64;
        }
        if (cdStart < 0 || cdSize < 0 || cdStart + cdSize > directoryEnd) {
            throw new IllegalStateException("central directory [" + cdStart + ", +" + cdSize + ") is past the end of the"
                    + " file or overlaps its end records (truncated archive?)");
        }
        if (count < 0 || count > cdSize / 46) {
            throw new IllegalStateException(count + " entries cannot fit a central directory of " + cdSize + " bytes");
        }
        if (cdSize > MAX_DIRECTORY) {
            throw new IllegalStateException("central directory of " + cdSize + " bytes is over the " + MAX_DIRECTORY
                    + "-byte limit (a torch.save archive needs about 100 bytes per tensor)");
        }
        ByteBuffer cd = le((int) cdSize);
        TensorBytes.readFully(ch, cd, cdStart);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cdSize || cd.getInt(p) != CENTRAL) {
                throw new IllegalStateException("central directory entry " + i + " is damaged");
            }
            int flags = cd.getShort(p + 8) & 0xFFFF;
            int method = cd.getShort(p + 10) & 0xFFFF;
            long comp = cd.getInt(p + 20) & 0xFFFFFFFFL;
            long uncomp = cd.getInt(p + 24) & 0xFFFFFFFFL;
            int nameLen = cd.getShort(p + 28) & 0xFFFF;
            int extraLen = cd.getShort(p + 30) & 0xFFFF;
            int commentLen = cd.getShort(p + 32) & 0xFFFF;
            long local = cd.getInt(p + 42) & 0xFFFFFFFFL;
            if ((long) p + 46 + nameLen + extraLen + commentLen > cdSize) {
                throw new IllegalStateException("central directory entry " + i + " runs past the directory");
            }
            byte[] nb = new byte[nameLen];
            cd.get(p + 46, nb);
            String name = new String(nb, StandardCharsets.UTF_8);
            // zip64 extended information: the 64-bit values of the fields saturated above, in this order
            int x = p + 46 + nameLen;
            int xEnd = x + extraLen;
            while (x + 4 <= xEnd) {
                int id = cd.getShort(x) & 0xFFFF;
                int len = cd.getShort(x + 2) & 0xFFFF;
                if (x + 4 + len > xEnd) {
                    throw new IllegalStateException("record '" + name + "': extra field runs past its entry");
                }
                if (id == 0x0001) {
                    int q = x + 4;
                    if (uncomp == 0xFFFFFFFFL && q + 8 <= x + 4 + len) {
                        uncomp = cd.getLong(q);
                        q += 8;
                    }
                    if (comp == 0xFFFFFFFFL && q + 8 <= x + 4 + len) {
                        comp = cd.getLong(q);
                        q += 8;
                    }
                    if (local == 0xFFFFFFFFL && q + 8 <= x + 4 + len) {
                        local = cd.getLong(q);
                    }
                }
                x += 4 + len;
            }
            if (entries.put(name, new Entry(name, method, comp, uncomp, local, flags)) != null) {
                throw new IllegalStateException("record '" + name + "' appears twice in the archive");
            }
            p += 46 + nameLen + extraLen + commentLen;
        }
        return new ZipDirectory(ch, size, cdStart, Collections.unmodifiableMap(entries));
    }

    /**
     * Where {@code name}'s bytes lie: a stored (uncompressed, unencrypted) record whose local header
     * agrees with the directory and whose data ends before the central directory.
     */
    Range range(String name) throws IOException {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalStateException("no record '" + name + "' in the archive");
        }
        if ((e.flags() & 1) != 0) {
            throw new IllegalStateException("record '" + name + "' is encrypted");
        }
        if (e.method() != 0) {
            throw new IllegalStateException("record '" + name + "' is compressed (zip method " + e.method()
                    + "); torch.save stores records uncompressed, and merv reads only those");
        }
        if (e.compressedSize() != e.size()) {
            throw new IllegalStateException("record '" + name + "' is stored but its sizes differ (" + e.compressedSize()
                    + " vs " + e.size() + ")");
        }
        if (e.localHeader() < 0 || e.localHeader() + 30 > centralStart) {
            throw new IllegalStateException("record '" + name + "': local header at byte " + e.localHeader()
                    + " is outside the archive's data area");
        }
        ByteBuffer h = le(30);
        TensorBytes.readFully(channel, h, e.localHeader());
        if (h.getInt(0) != LOCAL) {
            throw new IllegalStateException("record '" + name + "': no local header at byte " + e.localHeader());
        }
        int nameLen = h.getShort(26) & 0xFFFF;
        int extraLen = h.getShort(28) & 0xFFFF;
        long start = e.localHeader() + 30 + nameLen + extraLen;
        if (start + e.size() > fileSize || e.size() < 0) {
            throw new IllegalStateException("record '" + name + "' claims " + e.size() + " bytes from byte " + start
                    + ", past the end of the file (" + fileSize + " bytes)");
        }
        if (start + e.size() > centralStart) {
            throw new IllegalStateException("record '" + name + "' claims " + e.size() + " bytes from byte " + start
                    + ", overlapping the central directory at byte " + centralStart);
        }
        ByteBuffer nb = ByteBuffer.allocate(nameLen);
        TensorBytes.readFully(channel, nb, e.localHeader() + 30);
        if (!new String(nb.array(), StandardCharsets.UTF_8).equals(name)) {
            throw new IllegalStateException("record '" + name + "': local header names another record");
        }
        return new Range(start, e.size());
    }

    /** The whole content of a small record (byteorder, version). */
    byte[] readSmall(String name, int max) throws IOException {
        Range r = range(name);
        if (r.size() > max) {
            throw new IllegalStateException("record '" + name + "' has " + r.size() + " bytes, expected at most " + max);
        }
        ByteBuffer b = ByteBuffer.allocate((int) r.size());
        TensorBytes.readFully(channel, b, r.start());
        return b.array();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
