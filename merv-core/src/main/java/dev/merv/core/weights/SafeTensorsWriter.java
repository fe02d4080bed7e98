package dev.merv.core.weights;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files atomically: into a temporary file beside the target, forced to disk,
 * then renamed over it, so a crash never leaves a half-written checkpoint under the final name.
 * Tensors are stored in their own dtype (bf16 included) in name order.
 */
public final class SafeTensorsWriter {

    private SafeTensorsWriter() {}

    public static void write(Path target, Map<String, NDArray> tensors) {
        write(target, tensors, Map.of());
    }

    public static void write(Path target, Map<String, NDArray> tensors, Map<String, String> metadata) {
        Map<String, NDArray> sorted = new TreeMap<>(tensors);
        JsonObject header = new JsonObject();
        if (!metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            new TreeMap<>(metadata).forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        long offset = 0;
        for (Map.Entry<String, NDArray> e : sorted.entrySet()) {
            NDArray a = e.getValue();
            ScalarType t = Torch.dtype(a);
            long bytes = a.getShape().size() * t.bytes();
            JsonObject o = new JsonObject();
            o.addProperty("dtype", SafeTensors.nameOf(t));
            JsonArray shape = new JsonArray();
            for (long d : a.getShape().getShape()) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray off = new JsonArray();
            off.add(offset);
            off.add(offset + bytes);
            o.add("data_offsets", off);
            header.add(e.getKey(), o);
            offset += bytes;
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (8 - (h.length % 8)) % 8;
        ByteBuffer prefix = ByteBuffer.allocate(8 + h.length + pad).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(h.length + pad).put(h);
        for (int i = 0; i < pad; i++) {
            prefix.put((byte) ' ');
        }
        prefix.flip();
        try {
            Path dir = target.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    writeAll(ch, prefix);
                    for (Map.Entry<String, NDArray> e : sorted.entrySet()) {
                        NDArray a = e.getValue();
                        ByteBuffer data = a.isEmpty() ? ByteBuffer.allocate(0) : contiguousBytes(a);
                        long want = a.getShape().size() * Torch.dtype(a).bytes();
                        if (data.remaining() != want) {
                            // the header already promised `want` bytes; never write a file that lies
                            throw new IllegalStateException("tensor '" + e.getKey() + "' gave " + data.remaining()
                                    + " bytes, its shape and dtype say " + want);
                        }
                        writeAll(ch, data);
                    }
                    ch.force(true);
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + target, e);
        }
    }

    private static ByteBuffer contiguousBytes(NDArray a) {
        // DJL's toByteBuffer is dtype-free (2 bytes per bf16 element) and yields native-order bytes
        ByteBuffer b = a.toByteBuffer();
        return b.order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void writeAll(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
