package dev.merv.core.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import java.io.IOException;
import ai.djl.ndarray.types.DataType;
import com.sun.jna.Memory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * safetensors load throughput against reading the same bytes raw with a {@link FileChannel} (target:
 * load at least 0.8x raw), plus the memory-mapping alternative the reader does not use. Everything
 * reads a warm page cache, so this measures the reader's own cost, not the disk. Two raw baselines:
 * into one reused buffer (no page faults at all) and into a fresh native buffer per tensor (the same
 * memory work as a loader that returns new tensors).
 *
 * <p>Run from the repository root (test classpath, so it does not ship):
 * <pre>
 * ./mvnw -q -pl merv-core test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=dev.merv.core.bench.SafetensorsBench [-Dexec.args="megabytes rounds"]
 * </pre>
 * The file (default 256 MiB of 16 MiB tensors, fp32 and bf16) is written to a temporary directory
 * and deleted afterwards.
 */
public final class SafetensorsBench {

    private SafetensorsBench() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
        int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int tensors = Math.max(2, mib / 16);
        Path dir = Files.createTempDirectory("merv-st-bench");
        Path f32 = dir.resolve("f32.safetensors");
        Path bf16 = dir.resolve("bf16.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> a = new LinkedHashMap<>();
            Map<String, NDArray> b = new LinkedHashMap<>();
            for (int i = 0; i < tensors; i++) {
                try (NDManager s = m.newSubManager()) {
                    NDArray t = s.randomNormal(new Shape(2048, 2048)); // 16 MiB fp32
                    t.attach(m);
                    a.put(String.format("layers.%03d.weight", i), t);
                    NDArray h = Torch.to(t, ScalarType.BFLOAT16);
                    h.attach(m);
                    b.put(String.format("layers.%03d.weight", i), h);
                }
            }
            SafeTensorsWriter.write(f32, a);
            SafeTensorsWriter.write(bf16, b);
            a.values().forEach(NDArray::close);
            b.values().forEach(NDArray::close);

            System.out.printf("safetensors load vs raw FileChannel read (warm page cache; best of %d)%n", rounds);
            System.out.printf("GB/s; raw = FileChannel read into one reused buffer / into fresh native buffers per tensor;%n"
                    + "load = SafeTensors.load (reads into new tensors); mmap = map + wrap + copy into libtorch%n");
            System.out.printf("%-36s %9s %9s %9s %9s %9s %9s%n", "file", "raw reuse", "raw fresh", "load", "mmap",
                    "load/fresh", "load/reuse");
            row("fp32 " + Files.size(f32) / (1 << 20) + " MiB, stored dtype", f32, null, rounds, m);
            row("bf16 " + Files.size(bf16) / (1 << 20) + " MiB, stored dtype", bf16, null, rounds, m);
            row("bf16 " + Files.size(bf16) / (1 << 20) + " MiB, converted to fp32", bf16, ScalarType.FLOAT32, rounds, m);
        } finally {
            Files.deleteIfExists(f32);
            Files.deleteIfExists(bf16);
            Files.deleteIfExists(dir);
        }
    }

    private static void row(String name, Path file, ScalarType as, int rounds, NDManager m) throws IOException {
        long bytes = Files.size(file);
        double rawReused = 0;
        double rawFresh = 0;
        double load = 0;
        double mapped = 0;
        for (int r = -1; r < rounds; r++) { // round -1 warms the page cache and the JIT
            double a = bytes / 1e9 / rawReused(file);
            double b = bytes / 1e9 / rawFresh(file);
            double c = bytes / 1e9 / load(file, as, m);
            double d = bytes / 1e9 / mapped(file, as, m);
            if (r >= 0) {
                rawReused = Math.max(rawReused, a);
                rawFresh = Math.max(rawFresh, b);
                load = Math.max(load, c);
                mapped = Math.max(mapped, d);
            }
        }
        System.out.printf(Locale.ROOT, "%-36s %9.2f %9.2f %9.2f %9.2f %8.2fx %8.2fx%n", name, rawReused, rawFresh, load, mapped,
                load / rawFresh, load / rawReused);
    }

    /** Seconds to read the whole file into one reused direct buffer, 16 MiB per read call. */
    private static double rawReused(Path file) throws IOException {
        ByteBuffer buf = RAW_BUFFER.get();
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long pos = 0;
            long size = ch.size();
            while (pos < size) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /**
     * Seconds to read the file into fresh (malloc'd, not zeroed) native buffers of one tensor each,
     * freed after: the same memory work a loader that returns new tensors must do.
     */
    private static double rawFresh(Path file) throws IOException {
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); SafeTensors st = SafeTensors.open(file)) {
            long dataStart = ch.size() - st.tensors().values().stream().mapToLong(t -> t.end()).max().orElse(0);
            for (var t : st.tensors().values()) {
                try (Memory mem = new Memory(t.byteSize())) {
                    ByteBuffer buf = mem.getByteBuffer(0, t.byteSize());
                    long pos = dataStart + t.begin();
                    while (buf.hasRemaining()) {
                        pos += ch.read(buf, pos);
                    }
                }
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static final ThreadLocal<ByteBuffer> RAW_BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(16 << 20));

    /** The alternative the reader does not use: map each tensor, wrap the mapping, copy it into libtorch. */
    private static double mapped(Path file, ScalarType as, NDManager m) throws IOException {
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); SafeTensors st = SafeTensors.open(file)) {
            long dataStart = ch.size() - st.tensors().values().stream().mapToLong(t -> t.end()).max().orElse(0);
            for (var t : st.tensors().values()) {
                MappedByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin(), t.byteSize());
                buf.order(ByteOrder.nativeOrder());
                boolean reinterpret = !t.dtype().djlSafe();
                try (NDManager tmp = m.newSubManager()) {
                    NDArray blob = tmp.create(buf, t.djlShape(), reinterpret ? DataType.FLOAT16 : t.dtype().djl());
                    NDArray typed = reinterpret ? Torch.viewAs(blob, t.dtype()) : blob;
                    Torch.copy(typed, as == null ? t.dtype() : as).close();
                }
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Seconds to open the file and load every tensor into libtorch (each closed after loading). */
    private static double load(Path file, ScalarType as, NDManager m) {
        long t0 = System.nanoTime();
        try (SafeTensors st = SafeTensors.open(file)) {
            for (String n : st.names()) {
                st.load(n, m, as).close();
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
