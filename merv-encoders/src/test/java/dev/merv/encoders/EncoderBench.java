package dev.merv.encoders;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;

/**
 * Frames/s of every reference encoder preset on CPU at reduced width (real depth, frame count and
 * 224 px input; every width divided by {@code --width}), fp32 (baseline) vs bf16, random weights.
 *
 * <pre>
 * mvn -o -q -pl merv-encoders -am test-compile
 * mvn -o -q -pl merv-encoders exec:java -Dexec.mainClass=dev.merv.encoders.EncoderBench \
 *     -Dexec.classpathScope=test -Dexec.args="--width 8 --iters 2"
 * </pre>
 *
 * Options: {@code --width K} (default 8), {@code --iters N} timed runs after one warm-up (default 2),
 * {@code --ids a,b} (default: the six reference ids), {@code --size S} (default 224).
 */
public final class EncoderBench {

    private EncoderBench() {}

    public static void main(String[] args) {
        int width = 8;
        int iters = 2;
        int size = 224;
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--width" -> width = Integer.parseInt(args[++i]);
                case "--iters" -> iters = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--ids" -> ids.addAll(List.of(args[++i].split(",")));
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (ids.isEmpty()) {
            for (String id : EncoderRegistry.ids()) {
                if (EncoderRegistry.get(id).provenance() == dev.merv.core.catalog.Provenance.REFERENCE) {
                    ids.add(id);
                }
            }
        }
        System.out.printf("EncoderBench: width/%d, %d px, batch 1, %d timed iters, threads %s%n", width, size, iters,
                System.getProperty("ai.djl.pytorch.num_threads", "default"));
        System.out.printf("%-38s %6s %10s %12s %12s %8s%n", "encoder", "frames", "params", "fp32 fr/s", "bf16 fr/s", "bf16/fp32");
        for (String id : ids) {
            try (NDManager m = NDManager.newBaseManager()) {
                EncoderRegistry.Options o = EncoderRegistry.Options.defaults().withWidthDivisor(width).withImageSize(size);
                FrozenVideoEncoder enc = EncoderRegistry.create(id, o);
                enc.module().setTrainable(false);
                enc.module().initializeMissing((n, p) -> p.set(m.randomNormal(0f, 0.02f, p.shape(), DataType.FLOAT32)));
                int t = enc.numFrames();
                Shape in = enc.layout() == FrameTransform.Layout.TCHW ? new Shape(1, t, 3, size, size) : new Shape(1, 3, t, size, size);
                NDArray x = m.randomNormal(in);
                double fp32 = framesPerSecond(enc, x, iters);
                enc.castTo(ScalarType.BFLOAT16, m);
                double bf16 = framesPerSecond(enc, x, iters);
                System.out.printf("%-38s %6d %9.1fM %12.2f %12.2f %8.2f%n", id, t, enc.module().parameterCount() / 1e6, fp32, bf16,
                        bf16 / fp32);
            }
        }
    }

    private static double framesPerSecond(FrozenVideoEncoder enc, NDArray x, int iters) {
        try (NDManager warm = x.getManager().newSubManager()) {
            x.tempAttach(warm);
            enc.encode(x);
        }
        long best = Long.MAX_VALUE;
        for (int i = 0; i < iters; i++) {
            try (NDManager step = x.getManager().newSubManager()) {
                x.tempAttach(step);
                long t0 = System.nanoTime();
                NDArray out = enc.encode(x);
                Torch.toFloatArray(out.get(0, 0, 0));
                best = Math.min(best, System.nanoTime() - t0);
            }
        }
        return enc.numFrames() / (best / 1e9);
    }
}
