package dev.merv.encoders;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Devices;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * merv-base's four frozen encoders (LanguageBind, DINOv2, ViViT, SigLIP at their frame counts) with random
 * weights, one clip each, run one after the other and then concurrently (one thread per encoder, as
 * {@code Merv.Options.encoderExecutor} runs them): frames per second of each way and their ratio, measured in
 * the same run. For the GPU kit at real size in bf16; {@code --width K} divides every width (the CPU
 * rehearsal's tiny sizes).
 *
 * <pre>java -cp ... dev.merv.encoders.EncoderConcurrencyBench --device gpu0 --dtype bf16 --iters 5</pre>
 *
 * Prints one JSON line ({@code "name": "encoders"}). The timed unit is a clip of every encoder: sequential
 * wall time is their sum, concurrent the wall time of all four at once; each encoder's output is read back
 * (one element) so the time covers its device work. On one GPU the threads share the device's default
 * stream, so concurrency there overlaps the host-side dispatch of the encoders, not their kernels.
 */
public final class EncoderConcurrencyBench {

    private EncoderConcurrencyBench() {}

    public static void main(String[] args) throws Exception {
        String deviceSpec = "cpu";
        ScalarType dtype = ScalarType.BFLOAT16;
        int width = 1;
        int size = 0;
        int iters = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--device" -> deviceSpec = args[++i];
                case "--dtype" -> dtype = ScalarType.parse(args[++i]);
                case "--width" -> width = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--iters" -> iters = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Device device = Devices.parse(deviceSpec).get(0);
        ModelConfig base = ModelRegistry.get(ModelRegistry.MERV_BASE);
        List<String> ids = base.videoBackboneIds();
        List<Integer> frames = base.numFrames();
        List<NDManager> managers = new ArrayList<>();
        List<FrozenVideoEncoder> encoders = new ArrayList<>();
        List<NDArray> inputs = new ArrayList<>();
        long params = 0;
        int totalFrames = 0;
        try {
            for (int e = 0; e < ids.size(); e++) {
                NDManager m = NDManager.newBaseManager(device);
                managers.add(m);
                EncoderRegistry.Options o = EncoderRegistry.Options.defaults().withWidthDivisor(width).withFrames(frames.get(e));
                if (size > 0) {
                    o = o.withImageSize(size);
                }
                FrozenVideoEncoder enc = EncoderRegistry.create(ids.get(e), o);
                enc.module().setTrainable(false);
                // drawn on the device: a Java draw of a billion weights takes minutes
                enc.module().initializeMissing((n, p) -> p.set(m.randomNormal(0f, 0.02f, p.shape(), DataType.FLOAT32)));
                if (dtype != ScalarType.FLOAT32) {
                    enc.castTo(dtype, m);
                }
                int t = enc.numFrames();
                int h = enc.imageHeight();
                int w = enc.imageWidth();
                Shape in = enc.layout() == FrameTransform.Layout.TCHW ? new Shape(1, t, 3, h, w) : new Shape(1, 3, t, h, w);
                NDArray x = m.randomNormal(0f, 1f, in, DataType.FLOAT32);
                inputs.add(dtype == ScalarType.FLOAT32 ? x : Torch.copy(x, dtype));
                encoders.add(enc);
                params += enc.module().parameterCount();
                totalFrames += t;
            }
            int n = encoders.size();
            for (int e = 0; e < n; e++) {
                encodeOnce(encoders.get(e), inputs.get(e)); // warm-up: kernels chosen, allocator filled
            }
            double[] seq = new double[iters];
            double[] conc = new double[iters];
            ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
                Thread th = new Thread(r, "encoder-bench");
                th.setDaemon(true);
                return th;
            });
            try {
                for (int i = 0; i < iters; i++) {
                    long t0 = System.nanoTime();
                    for (int e = 0; e < n; e++) {
                        encodeOnce(encoders.get(e), inputs.get(e));
                    }
                    seq[i] = (System.nanoTime() - t0) / 1e9;
                    t0 = System.nanoTime();
                    List<Future<?>> fs = new ArrayList<>();
                    for (int e = 0; e < n; e++) {
                        int k = e;
                        fs.add(pool.submit(() -> encodeOnce(encoders.get(k), inputs.get(k))));
                    }
                    for (Future<?> f : fs) {
                        f.get();
                    }
                    conc[i] = (System.nanoTime() - t0) / 1e9;
                }
            } finally {
                pool.shutdownNow();
            }
            Arrays.sort(seq);
            Arrays.sort(conc);
            double seqMed = seq[iters / 2];
            double concMed = conc[iters / 2];
            StringBuilder idList = new StringBuilder();
            for (String id : ids) {
                idList.append(idList.length() == 0 ? "" : ", ").append('"').append(id).append('"');
            }
            System.out.printf(Locale.ROOT, "{\"impl\": \"merv\", \"name\": \"encoders\", \"device\": \"%s\", \"dtype\": \"%s\","
                    + " \"encoders\": [%s], \"frames\": %s, \"width_divisor\": %d, \"params_m\": %.1f, \"iters\": %d,"
                    + " \"sequential_ms_median\": %.3f, \"concurrent_ms_median\": %.3f, \"sequential_frames_per_s\": %.2f,"
                    + " \"concurrent_frames_per_s\": %.2f, \"concurrent_vs_sequential\": %.3f}%n",
                    device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu", dtype.name().toLowerCase(Locale.ROOT), idList,
                    frames, width, params / 1e6, iters, seqMed * 1e3, concMed * 1e3, totalFrames / seqMed,
                    totalFrames / concMed, seqMed / concMed);
        } finally {
            managers.forEach(NDManager::close);
        }
        System.exit(0); // DJL leaves non-daemon threads behind
    }

    /** One clip through one encoder, its output read back (one element: waits for the device). */
    private static Void encodeOnce(FrozenVideoEncoder enc, NDArray x) {
        try (NDManager step = x.getManager().newSubManager()) {
            x.tempAttach(step);
            NDArray out = enc.encode(x);
            Torch.toFloatArray(out.get(0, 0, 0));
        }
        return null;
    }
}
