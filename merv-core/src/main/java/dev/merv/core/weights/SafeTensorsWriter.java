package dev.merv.core.weights;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes safetensors files atomically: into a temporary file beside the target, forced to disk,
 * then renamed over it, so a crash never leaves a half-written checkpoint under the final name.
 * Tensors are stored in their own dtype (bf16 included) in name order, their bytes written straight
 * from libtorch memory ({@link TensorBytes}).
 *
 * <p>The streaming form ({@link #write(Path, List, Map, Contents)}) takes the header first and asks
 * for each tensor only when its turn comes, so a file far larger than memory is written holding one
 * tensor at a time; {@link #writeSharded} splits such a file into HF-style shards with an index.
 */
public final class SafeTensorsWriter {

    /** One tensor of a file being written: its header entry. */
    public record Entry(String name, ScalarType dtype, long[] shape) {
        public long byteSize() {
            long n = dtype.bytes();
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /**
     * A tensor's contents, asked for when the writer reaches it. Arrays made in {@code scope} are
     * closed by the writer once written; an array owned elsewhere is only read.
     */
    @FunctionalInterface
    public interface Contents {
        NDArray load(Entry entry, NDManager scope);
    }

    private SafeTensorsWriter() {}

    public static void write(Path target, Map<String, NDArray> tensors) {
        write(target, tensors, Map.of());
    }

    public static void write(Path target, Map<String, NDArray> tensors, Map<String, String> metadata) {
        List<Entry> entries = new ArrayList<>();
        tensors.forEach((n, a) -> entries.add(new Entry(n, Torch.dtype(a), a.getShape().getShape())));
        write(target, entries, metadata, (e, scope) -> tensors.get(e.name()));
    }

    /** Streams {@code entries} into {@code target}, asking {@code contents} for each in name order. */
    public static void write(Path target, List<Entry> entries, Map<String, String> metadata, Contents contents) {
        Path tmp = writeTemp(target, entries, metadata, contents);
        try {
            commit(tmp, target);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("writing " + target, e);
        }
    }

    /**
     * Streams {@code entries} into files of at most {@code shardBytes} of tensor data each (a tensor
     * larger than that gets a file of its own). One shard is written as {@code target} itself; more are
     * written beside it as {@code <stem>-00001-of-0000N.safetensors} with the Hugging Face index
     * {@code <stem>.safetensors.index.json} ({@code metadata.total_size}, {@code weight_map}). Every file
     * is written to a temporary name first and renamed only after all of them are complete, so a
     * failure leaves no output file. Returns the files written, the index last.
     */
    public static List<Path> writeSharded(Path target, List<Entry> entries, Map<String, String> metadata, Contents contents,
            long shardBytes) {
        if (shardBytes <= 0) {
            throw new IllegalArgumentException("shard size must be positive, got " + shardBytes);
        }
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparing(Entry::name));
        List<List<Entry>> shards = new ArrayList<>();
        List<Entry> cur = new ArrayList<>();
        long curBytes = 0;
        for (Entry e : sorted) {
            long b = e.byteSize();
            if (!cur.isEmpty() && curBytes + b > shardBytes) {
                shards.add(cur);
                cur = new ArrayList<>();
                curBytes = 0;
            }
            cur.add(e);
            curBytes += b;
        }
        if (!cur.isEmpty() || shards.isEmpty()) {
            shards.add(cur);
        }
        if (shards.size() == 1) {
            write(target, sorted, metadata, contents);
            return List.of(target);
        }
        String file = target.getFileName().toString();
        String stem = file.endsWith(".safetensors") ? file.substring(0, file.length() - ".safetensors".length()) : file;
        Path dir = target.toAbsolutePath().getParent();
        List<Path> finals = new ArrayList<>();
        List<Path> temps = new ArrayList<>();
        JsonObject weightMap = new JsonObject();
        long total = 0;
        try {
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format(Locale.ROOT, "%s-%05d-of-%05d.safetensors", stem, i + 1, shards.size());
                Path shard = dir.resolve(name);
                temps.add(writeTemp(shard, shards.get(i), metadata, contents));
                finals.add(shard);
                for (Entry e : shards.get(i)) {
                    weightMap.addProperty(e.name(), name);
                    total += e.byteSize();
                }
            }
            JsonObject meta = new JsonObject();
            meta.addProperty("total_size", total);
            JsonObject index = new JsonObject();
            index.add("metadata", meta);
            index.add("weight_map", weightMap);
            Path indexFile = dir.resolve(stem + ".safetensors.index.json");
            byte[] json = new GsonBuilder().setPrettyPrinting().create().toJson(index).getBytes(StandardCharsets.UTF_8);
            temps.add(writeTemp(indexFile, ByteBuffer.wrap(json)));
            finals.add(indexFile);
            for (int i = 0; i < finals.size(); i++) {
                commit(temps.get(i), finals.get(i));
            }
            return List.copyOf(finals);
        } catch (IOException e) {
            temps.forEach(SafeTensorsWriter::deleteQuietly);
            throw new UncheckedIOException("writing " + target, e);
        } catch (RuntimeException e) {
            temps.forEach(SafeTensorsWriter::deleteQuietly);
            throw e;
        }
    }

    /** The header and tensors of one file, in a forced temporary file beside {@code target}. */
    private static Path writeTemp(Path target, List<Entry> entries, Map<String, String> metadata, Contents contents) {
        Map<String, Entry> sorted = new TreeMap<>();
        for (Entry e : entries) {
            if (sorted.put(e.name(), e) != null) {
                throw new IllegalArgumentException("tensor '" + e.name() + "' given twice for " + target);
            }
        }
        JsonObject header = new JsonObject();
        if (!metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            new TreeMap<>(metadata).forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        long offset = 0;
        for (Entry e : sorted.values()) {
            long bytes = e.byteSize();
            JsonObject o = new JsonObject();
            o.addProperty("dtype", SafeTensors.nameOf(e.dtype()));
            JsonArray shape = new JsonArray();
            for (long d : e.shape()) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray off = new JsonArray();
            off.add(offset);
            off.add(offset + bytes);
            o.add("data_offsets", off);
            header.add(e.name(), o);
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
        Path tmp = null;
        try {
            tmp = createTemp(target);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                TensorBytes.writeAll(ch, prefix);
                for (Entry e : sorted.values()) {
                    try (NDManager scope = NDManager.newBaseManager(Device.cpu())) {
                        NDArray a = contents.load(e, scope);
                        ScalarType have = Torch.dtype(a);
                        long[] shape = a.getShape().getShape();
                        if (have != e.dtype() || !Arrays.equals(shape, e.shape())) {
                            // the header already promised this dtype and shape; never write a file that lies
                            throw new IllegalStateException("tensor '" + e.name() + "' is " + have + " " + Arrays.toString(shape)
                                    + ", its header entry says " + e.dtype() + " " + Arrays.toString(e.shape()));
                        }
                        TensorBytes.write(ch, a);
                    }
                }
                ch.force(true);
            }
            return tmp;
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("writing " + target, e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    private static Path writeTemp(Path target, ByteBuffer bytes) throws IOException {
        Path tmp = createTemp(target);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            TensorBytes.writeAll(ch, bytes);
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        return tmp;
    }

    /** A new empty temporary file in {@code target}'s directory (created if missing). */
    public static Path createTemp(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        return Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    }

    /** Renames a finished temporary file over {@code target} (atomically where the file system can). */
    public static void commit(Path tmp, Path target) throws IOException {
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the original failure is what the caller needs to see
        }
    }
}
