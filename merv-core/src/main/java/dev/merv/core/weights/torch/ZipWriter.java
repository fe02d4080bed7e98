package dev.merv.core.weights.torch;

import ai.djl.ndarray.NDArray;
import com.sun.jna.Pointer;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.TensorBytes;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Writes a zip archive the way torch.save lays it out: stored (uncompressed) records whose data
 * starts on a 64-byte boundary (padding in an {@code FB} extra field, as PyTorch does), zip64 sizes
 * and offsets where they pass 4 GiB. Tensor records are written straight from libtorch memory.
 */
final class ZipWriter {

    private static final int ALIGN = 64;
    private static final long MAX32 = 0xFFFFFFFFL;

    private record Written(byte[] name, long crc, long size, long offset) {}

    private final FileChannel ch;
    private final List<Written> written = new ArrayList<>();
    private final int piece;

    ZipWriter(FileChannel ch) {
        this(ch, 1 << 30);
    }

    ZipWriter(FileChannel ch, int piece) {
        this.ch = ch;
        this.piece = piece;
    }

    /** A record holding {@code data}. */
    void add(String name, byte[] data) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(data);
        header(name, crc.getValue(), data.length);
        TensorBytes.writeAll(ch, ByteBuffer.wrap(data));
    }

    /** A record holding the bytes of a dense CPU tensor. */
    void addTensor(String name, NDArray dense, long bytes) throws IOException {
        CRC32 crc = new CRC32();
        long addr = bytes == 0 ? 0 : Torch.dataPointer(dense);
        for (long off = 0; off < bytes; off += piece) {
            crc.update(new Pointer(addr + off).getByteBuffer(0, (int) Math.min(piece, bytes - off)));
        }
        header(name, crc.getValue(), bytes);
        long n = TensorBytes.write(ch, dense);
        if (n != bytes) {
            throw new IllegalStateException("record '" + name + "': tensor gave " + n + " bytes, its header says " + bytes);
        }
    }

    private void header(String name, long crc, long size) throws IOException {
        byte[] nb = name.getBytes(StandardCharsets.UTF_8);
        long offset = ch.position();
        boolean zip64 = size >= MAX32;
        int z64Len = zip64 ? 20 : 0;
        int fixed = 30 + nb.length + z64Len + 4;
        int pad = (int) ((ALIGN - ((offset + fixed) % ALIGN)) % ALIGN);
        ByteBuffer h = le(fixed + pad);
        h.putInt(0x04034b50).putShort((short) (zip64 ? 45 : 20)).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0x21).putInt((int) crc)
                .putInt((int) (zip64 ? MAX32 : size)).putInt((int) (zip64 ? MAX32 : size))
                .putShort((short) nb.length).putShort((short) (z64Len + 4 + pad)).put(nb);
        if (zip64) {
            h.putShort((short) 1).putShort((short) 16).putLong(size).putLong(size);
        }
        h.putShort((short) 0x4246).putShort((short) pad).put(new byte[pad]);
        h.flip();
        TensorBytes.writeAll(ch, h);
        written.add(new Written(nb, crc, size, offset));
    }

    /** The central directory and end records. */
    void finish() throws IOException {
        long cdStart = ch.position();
        for (Written w : written) {
            boolean bigSize = w.size() >= MAX32;
            boolean bigOffset = w.offset() >= MAX32;
            int z64 = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
            int extra = z64 == 0 ? 0 : 4 + z64;
            ByteBuffer c = le(46 + w.name().length + extra);
            c.putInt(0x02014b50).putShort((short) 45).putShort((short) (extra > 0 ? 45 : 20)).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0).putShort((short) 0x21).putInt((int) w.crc())
                    .putInt((int) (bigSize ? MAX32 : w.size())).putInt((int) (bigSize ? MAX32 : w.size()))
                    .putShort((short) w.name().length).putShort((short) extra).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putInt(0).putInt((int) (bigOffset ? MAX32 : w.offset())).put(w.name());
            if (extra > 0) {
                c.putShort((short) 1).putShort((short) z64);
                if (bigSize) {
                    c.putLong(w.size()).putLong(w.size());
                }
                if (bigOffset) {
                    c.putLong(w.offset());
                }
            }
            c.flip();
            TensorBytes.writeAll(ch, c);
        }
        long cdEnd = ch.position();
        long cdSize = cdEnd - cdStart;
        boolean zip64 = written.size() >= 0xFFFF || cdStart >= MAX32 || cdSize >= MAX32;
        if (zip64) {
            ByteBuffer z = le(56 + 20);
            z.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                    .putLong(written.size()).putLong(written.size()).putLong(cdSize).putLong(cdStart);
            z.putInt(0x07064b50).putInt(0).putLong(cdEnd).putInt(1);
            z.flip();
            TensorBytes.writeAll(ch, z);
        }
        ByteBuffer e = le(22);
        int count = zip64 ? 0xFFFF : written.size();
        e.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) count).putShort((short) count)
                .putInt((int) (zip64 ? MAX32 : cdSize)).putInt((int) (zip64 ? MAX32 : cdStart)).putShort((short) 0);
        e.flip();
        TensorBytes.writeAll(ch, e);
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
