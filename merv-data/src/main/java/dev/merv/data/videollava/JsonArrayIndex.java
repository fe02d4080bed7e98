package dev.merv.data.videollava;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Byte ranges of the elements of a top-level JSON array, found in one streaming pass without
 * parsing or holding any element (a Video-LLaVA JSON has ~10^6 rows; the index costs 16 bytes per
 * row). Elements are then read on demand with a positional read, from any thread.
 *
 * <p>Boundaries come from bracket depth outside strings, so a syntax error inside one element
 * (a stray character, a missing quote closed later) stays inside that element and only that entry
 * is malformed. An element truncated by the end of file is kept as the last range.
 */
public final class JsonArrayIndex implements AutoCloseable {

    private final Path file;
    private final long[] starts;
    private final long[] ends;
    private final FileChannel channel;

    private JsonArrayIndex(Path file, long[] starts, long[] ends) throws IOException {
        this.file = file;
        this.starts = starts;
        this.ends = ends;
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
    }

    /** Scans {@code file}; fails when it is not a JSON array at all. */
    public static JsonArrayIndex build(Path file) throws IOException {
        long[] s = new long[1024];
        long[] e = new long[1024];
        int n = 0;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            long pos = 0;
            int c;
            // skip BOM and whitespace up to '['
            while (true) {
                c = in.read();
                if (c < 0) {
                    throw new IOException(file + ": empty file, expected a JSON array");
                }
                pos++;
                if (c == 0xEF || c == 0xBB || c == 0xBF || isSpace(c)) {
                    continue;
                }
                if (c != '[') {
                    throw new IOException(file + ": expected a JSON array ('[') at byte " + (pos - 1) + ", found '"
                            + (char) c + "'");
                }
                break;
            }
            int depth = 0;
            boolean inString = false;
            boolean escape = false;
            long start = -1;
            boolean closed = false;
            while ((c = in.read()) >= 0) {
                long at = pos++;
                if (start < 0) {
                    if (isSpace(c) || c == ',') {
                        continue;
                    }
                    if (c == ']') {
                        closed = true;
                        break;
                    }
                    start = at;
                    depth = 0;
                }
                if (inString) {
                    if (escape) {
                        escape = false;
                    } else if (c == '\\') {
                        escape = true;
                    } else if (c == '"') {
                        inString = false;
                        if (depth == 0) {
                            // a bare string element ends with its closing quote
                            if (n == s.length) {
                                s = Arrays.copyOf(s, n * 2);
                                e = Arrays.copyOf(e, n * 2);
                            }
                            s[n] = start;
                            e[n++] = at + 1;
                            start = -1;
                        }
                    }
                    continue;
                }
                if (c == '"') {
                    inString = true;
                } else if (c == '{' || c == '[') {
                    depth++;
                } else if (c == '}' || c == ']' || (depth == 0 && (c == ',' || isSpace(c)))) {
                    boolean endsScalar = depth == 0;
                    if (!endsScalar) {
                        depth--;
                    }
                    if (depth == 0) {
                        if (n == s.length) {
                            s = Arrays.copyOf(s, n * 2);
                            e = Arrays.copyOf(e, n * 2);
                        }
                        s[n] = start;
                        e[n++] = endsScalar ? at : at + 1;
                        start = -1;
                        if (endsScalar && c == ']') {
                            closed = true;
                            break;
                        }
                    }
                }
            }
            if (start >= 0) {
                if (n == s.length) {
                    s = Arrays.copyOf(s, n + 1);
                    e = Arrays.copyOf(e, n + 1);
                }
                s[n] = start;
                e[n++] = pos;
            }
            if (!closed && n == 0) {
                throw new IOException(file + ": JSON array is not closed and holds no element");
            }
        }
        return new JsonArrayIndex(file, Arrays.copyOf(s, n), Arrays.copyOf(e, n));
    }

    private static boolean isSpace(int c) {
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }

    public Path file() {
        return file;
    }

    public int size() {
        return starts.length;
    }

    /** The raw text of element {@code i}. */
    public String text(int i) throws IOException {
        long len = ends[i] - starts[i];
        if (len > Integer.MAX_VALUE - 16) {
            throw new IOException(file + ": element " + i + " is " + len + " bytes");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) len);
        long p = starts[i];
        while (buf.hasRemaining()) {
            int r = channel.read(buf, p + buf.position());
            if (r < 0) {
                break;
            }
        }
        return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
