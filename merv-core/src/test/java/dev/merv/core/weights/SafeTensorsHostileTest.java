package dev.merv.core.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broken and hostile files fail at open with a {@link WeightFormatException} that names the file and
 * the tensor. Sizes claimed here are terabytes: a reader that allocated what the header claims would
 * die with an OutOfMemoryError instead of the expected exception.
 */
class SafeTensorsHostileTest {

    static final long TIB = 1L << 40;

    @TempDir
    Path dir;

    private Path file(String name, long headerLen, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen).put(h);
        Path f = dir.resolve(name);
        Files.write(f, b.array());
        return f;
    }

    private Path file(String name, String header, int dataBytes) throws IOException {
        return file(name, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private static void assertRejected(Path f, String tensor, String reason) {
        var thrown = assertThatThrownBy(() -> SafeTensors.open(f).close())
                .isInstanceOf(WeightFormatException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining(reason);
        if (tensor != null) {
            thrown.hasMessageContaining("[tensor '" + tensor + "']");
        }
    }

    @Test
    void truncatedData() throws IOException {
        Path f = file("truncated.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"w\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[16,416]}}", 100);
        assertRejected(f, "w", "outside the data section of 100 bytes (truncated file?)");
    }

    @Test
    void truncatedBeforeTheHeaderLength() throws IOException {
        Path f = dir.resolve("tiny.safetensors");
        Files.write(f, new byte[] {1, 2, 3});
        assertRejected(f, null, "truncated: 3 bytes");
    }

    @Test
    void headerLengthLargerThanTheFile() throws IOException {
        assertRejected(file("hl1.safetensors", 50L * 1024 * 1024, "{}", 0), null, "header length 52428800 is impossible");
        assertRejected(file("hl2.safetensors", Long.MAX_VALUE, "{}", 0), null, "is impossible for a file of");
        assertRejected(file("hl3.safetensors", -5, "{}", 0), null, "header length -5");
    }

    @Test
    void terabyteClaimsAreRefusedWithoutAllocating() throws IOException {
        Path f = file("huge.safetensors",
                "{\"emb\":{\"dtype\":\"F32\",\"shape\":[" + (TIB / 4) + "],\"data_offsets\":[0," + TIB + "]}}", 64);
        assertRejected(f, "emb", "outside the data section of 64 bytes");
    }

    @Test
    void overlappingOffsets() throws IOException {
        Path f = file("overlap.safetensors",
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[64],\"data_offsets\":[0,64]},"
                        + "\"b\":{\"dtype\":\"U8\",\"shape\":[64],\"data_offsets\":[32,96]}}", 96);
        assertRejected(f, "b", "overlap tensor 'a'");
    }

    @Test
    void overlapHiddenBehindAnEmptyTensor() throws IOException {
        // sorted by start: a [0,100), e [10,10) (empty), c [30,40) - c lies inside a
        Path f = file("nested.safetensors",
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[100],\"data_offsets\":[0,100]},"
                        + "\"e\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[10,10]},"
                        + "\"c\":{\"dtype\":\"U8\",\"shape\":[10],\"data_offsets\":[30,40]}}", 100);
        assertRejected(f, "c", "overlap tensor 'a'");
    }

    @Test
    void outOfRangeOffsets() throws IOException {
        assertRejected(file("oor1.safetensors", "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,4]}}", 16),
                "x", "data_offsets [8, 4) outside");
        assertRejected(file("oor2.safetensors", "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[-4,0]}}", 16),
                "x", "data_offsets [-4, 0) outside");
        assertRejected(file("oor3.safetensors", "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[14,18]}}", 16),
                "x", "outside the data section of 16 bytes");
        assertRejected(file("oor4.safetensors",
                "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,99999999999999999999999]}}", 16),
                "x", "malformed header entry");
        assertRejected(file("oor5.safetensors", "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0.5,4.5]}}", 16),
                "x", "malformed header entry");
        assertRejected(file("oor6.safetensors", "{\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0]}}", 16),
                "x", "data_offsets must have two entries");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRejected(file("dtype.safetensors", "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4),
                "q", "unsupported dtype 'F8_E4M3'");
    }

    @Test
    void duplicateNames() throws IOException {
        assertRejected(file("dup.safetensors",
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                        + "\"v\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                        + "\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}", 12),
                "w", "duplicate tensor name");
    }

    @Test
    void shapeAndByteRangeDisagree() throws IOException {
        assertRejected(file("shape.safetensors", "{\"m\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,40]}}", 48),
                "m", "byte range 40 does not match shape [3,4] x F32 = 48 bytes");
        assertRejected(file("neg.safetensors", "{\"m\":{\"dtype\":\"F32\",\"shape\":[-1,4],\"data_offsets\":[0,16]}}", 16),
                "m", "negative dimension");
        // numel overflows 64 bits: refused as malformed, never multiplied into a small number
        assertRejected(file("ovf.safetensors",
                "{\"m\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,16]}}", 16),
                "m", "malformed header entry");
    }

    @Test
    void malformedHeaders() throws IOException {
        assertRejected(file("json.safetensors", "{\"a\": [1, 2", 0), null, "header is not valid JSON");
        assertRejected(file("array.safetensors", "[1, 2]", 0), null, "header is not a JSON object");
        assertRejected(file("missing.safetensors", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "a", "no 'dtype'");
        assertRejected(file("notobj.safetensors", "{\"a\":3}", 0), "a", "entry is not an object");
    }

    @Test
    void asksForATensorTheFileLacks() throws IOException {
        Path f = file("ok.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        try (SafeTensors st = SafeTensors.open(f); NDManager m = NDManager.newBaseManager()) {
            assertThat(st.load("a", m).toUint8Array()).containsExactly(0, 0);
            assertThatThrownBy(() -> st.load("b", m)).isInstanceOf(WeightFormatException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("[tensor 'b']").hasMessageContaining("no such tensor");
        }
    }

    @Test
    void fileTruncatedAfterOpenFailsOnLoadNamingTheTensor() throws IOException {
        Path f = file("shrinks.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}}", 32);
        try (SafeTensors st = SafeTensors.open(f); NDManager m = NDManager.newBaseManager()) {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                ch.truncate(Files.size(f) - 20);
            }
            assertThatThrownBy(() -> st.load("a", m)).isInstanceOf(WeightFormatException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("[tensor 'a']").hasMessageContaining("read failed");
            assertThat(m.getManagedArrays()).as("the half-filled tensor is released").isEmpty();
        }
    }

    @Test
    void tensorsLargerThanOneReadArriveInPieces() throws IOException {
        // the reader splits reads at 1 GiB; a 7-byte piece exercises the same loop on a small tensor
        int saved = TensorBytes.piece;
        TensorBytes.piece = 7;
        try (NDManager m = NDManager.newBaseManager()) {
            Path f = dir.resolve("pieces.safetensors");
            float[] v = new float[37];
            for (int i = 0; i < v.length; i++) {
                v[i] = i * 1.25f - 3;
            }
            SafeTensorsWriter.write(f, java.util.Map.of("v", m.create(v)));
            try (SafeTensors st = SafeTensors.open(f)) {
                assertThat(st.load("v", m).toFloatArray()).containsExactly(v);
            }
        } finally {
            TensorBytes.piece = saved;
        }
    }

    @Test
    void loadsATensorStoredPast2GiBFromASparseFile() throws IOException {
        // the data section spans 2^31 + 4 KiB bytes but only the header and the last tensor are written:
        // a sparse file, so the test costs no disk
        long padBytes = (1L << 31) + 4096;
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + padBytes + "],\"data_offsets\":[0," + padBytes + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[" + padBytes + "," + (padBytes + 16) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path f = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer prefix = ByteBuffer.allocate(8 + h.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(h.length).put(h).flip();
            ch.write(prefix, 0);
            ByteBuffer tail = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(1.5f).putFloat(-2f).putFloat(3.25f).putFloat(1e-3f).flip();
            ch.write(tail, 8 + h.length + padBytes);
        }
        assertThat(Files.size(f)).isGreaterThan(1L << 31);
        try (SafeTensors st = SafeTensors.open(f); NDManager m = NDManager.newBaseManager()) {
            assertThat(st.info("pad").byteSize()).isEqualTo(padBytes);
            assertThat(st.info("tail").begin()).isGreaterThan(1L << 31);
            var t = st.load("tail", m);
            assertThat(t.getShape().getShape()).containsExactly(2, 2);
            assertThat(t.toFloatArray()).containsExactly(1.5f, -2f, 3.25f, 1e-3f);
        }
    }
}
