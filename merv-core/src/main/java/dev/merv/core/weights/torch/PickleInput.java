package dev.merv.core.weights.torch;

import dev.merv.core.weights.TensorBytes;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Bytes {@code [start, end)} of a file, read forward through a small buffer. Every read that would
 * pass {@code end} fails before anything is allocated for it, so a length field in a hostile pickle
 * can never make the reader allocate more than the file holds.
 */
final class PickleInput {

    private static final int BUFFER = 64 * 1024;

    private final FileChannel channel;
    private final long end;
    private final ByteBuffer buf = ByteBuffer.allocate(BUFFER);
    /** File position of {@code buf}'s first byte. */
    private long bufStart;

    PickleInput(FileChannel channel, long start, long end) {
        this.channel = channel;
        this.end = end;
        this.bufStart = start;
        buf.limit(0);
    }

    /** File position of the next byte. */
    long position() {
        return bufStart + buf.position();
    }

    long remaining() {
        return end - position();
    }

    /** The next byte (0-255); fails at {@code end}. */
    int read() {
        if (!buf.hasRemaining()) {
            fill(1);
        }
        return buf.get() & 0xFF;
    }

    /** The next {@code n} bytes; fails before allocating when fewer than {@code n} remain. */
    byte[] read(long n) {
        if (n < 0 || n > remaining()) {
            throw new EndOfRecord(n, remaining());
        }
        byte[] out = new byte[(int) n];
        int done = 0;
        while (done < n) {
            if (!buf.hasRemaining()) {
                fill(1);
            }
            int k = Math.min(buf.remaining(), out.length - done);
            buf.get(out, done, k);
            done += k;
        }
        return out;
    }

    /** Little-endian integer of {@code n} bytes (1, 2, 4 or 8), unsigned for n < 8 except where noted by the caller. */
    long readLittle(int n) {
        byte[] b = read(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (b[i] & 0xFF);
        }
        return v;
    }

    /** Bytes up to (not including) the next newline, at most {@code max} of them. */
    byte[] readLine(int max) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        while (true) {
            int c = read();
            if (c == '\n') {
                return out.toByteArray();
            }
            if (out.size() >= max) {
                throw new IllegalStateException("line longer than " + max + " bytes");
            }
            out.write(c);
        }
    }

    private void fill(int need) {
        long pos = position();
        if (end - pos < need) {
            throw new EndOfRecord(need, end - pos);
        }
        buf.clear();
        buf.limit((int) Math.min(BUFFER, end - pos));
        bufStart = pos;
        try {
            TensorBytes.readFully(channel, buf, pos);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        buf.flip();
    }

    /** A read past the end of the record (a truncated pickle or a length field larger than the data). */
    static final class EndOfRecord extends RuntimeException {
        private static final long serialVersionUID = 1L;

        EndOfRecord(long wanted, long left) {
            super("needs " + wanted + " more bytes but only " + left + " are left: past the end of the record (truncated?)");
        }
    }
}
