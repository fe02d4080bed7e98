package dev.merv.core.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.core.weights.WeightSource;
import dev.merv.core.weights.torch.TorchCheckpoint;
import dev.merv.core.weights.torch.TorchCheckpoints;
import dev.merv.core.weights.torch.TorchSaveWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * torch.save reading against safetensors reading of the same tensors (baseline, measured in the
 * same run on the same warm page cache), plus open (check) time and {@code convert} throughput.
 *
 * <p>Run from the repository root (test classpath, so it does not ship):
 * <pre>
 * ./mvnw -q -pl merv-core test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=dev.merv.core.bench.TorchCheckpointBench [-Dexec.args="megabytes rounds"]
 * </pre>
 */
public final class TorchCheckpointBench {

    private TorchCheckpointBench() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        int mib = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int tensors = Math.max(2, mib / 16);
        Path dir = Files.createTempDirectory("merv-pt-bench");
        Path st = dir.resolve("w.safetensors");
        Path pt = dir.resolve("w.pt");
        Path conv = dir.resolve("c.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, Object> nested = new LinkedHashMap<>();
            Map<String, NDArray> flat = new LinkedHashMap<>();
            for (int i = 0; i < tensors; i++) {
                NDArray t = m.randomNormal(new Shape(2048, 2048));
                NDArray h = Torch.to(t, ScalarType.BFLOAT16);
                t.close();
                nested.put(String.format("%03d", i), h);
                flat.put(String.format("model.%03d", i), h);
            }
            long t0 = System.nanoTime();
            TorchSaveWriter.write(pt, Map.of("model", nested));
            double writePt = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            SafeTensorsWriter.write(st, flat);
            double writeSt = (System.nanoTime() - t0) / 1e9;
            flat.values().forEach(NDArray::close);
            double gb = Files.size(st) / 1e9;
            System.out.printf("%d bf16 tensors of 2048x2048, %.0f MiB; best of %d rounds, warm page cache%n", tensors,
                    Files.size(st) / 1048576.0, rounds);
            System.out.printf("%-34s %10s %10s %8s%n", "operation", "safetensors", "torch.save", "ratio");
            System.out.printf("%-34s %9.2fs %9.2fs %8.2f%n", "write (incl. fsync)", writeSt, writePt, writePt / writeSt);
            double openSt = Double.MAX_VALUE;
            double openPt = Double.MAX_VALUE;
            double loadSt = Double.MAX_VALUE;
            double loadPt = Double.MAX_VALUE;
            for (int r = 0; r < rounds; r++) {
                t0 = System.nanoTime();
                try (SafeTensors s = SafeTensors.open(st)) {
                    openSt = Math.min(openSt, (System.nanoTime() - t0) / 1e9);
                    loadSt = Math.min(loadSt, loadAll(s, m));
                }
                t0 = System.nanoTime();
                try (TorchCheckpoint c = TorchCheckpoint.open(pt)) {
                    openPt = Math.min(openPt, (System.nanoTime() - t0) / 1e9);
                    loadPt = Math.min(loadPt, loadAll(c, m));
                }
            }
            System.out.printf("%-34s %8.2fms %8.2fms %8.2f%n", "open + check", openSt * 1e3, openPt * 1e3, openPt / openSt);
            System.out.printf("%-34s %7.2fGB/s %7.2fGB/s %8.2f%n", "load every tensor (stored dtype)", gb / loadSt, gb / loadPt,
                    loadSt / loadPt);
            t0 = System.nanoTime();
            TorchCheckpoints.convert(pt, conv, 0);
            double c = (System.nanoTime() - t0) / 1e9;
            System.out.printf("%-34s %10s %7.2fGB/s%n", "convert .pt -> safetensors", "", gb / c);
        } finally {
            Files.deleteIfExists(st);
            Files.deleteIfExists(pt);
            Files.deleteIfExists(conv);
            Files.deleteIfExists(dir);
        }
    }

    private static double loadAll(WeightSource s, NDManager m) {
        long t0 = System.nanoTime();
        for (String n : s.names()) {
            try (NDManager scope = m.newSubManager()) {
                s.load(n, scope, null);
            }
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
