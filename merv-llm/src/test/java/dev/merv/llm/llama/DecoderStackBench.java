package dev.merv.llm.llama;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.config.Flags;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Devices;
import java.util.List;
import java.util.Arrays;
import java.util.Locale;

/**
 * Forward + backward of a stack of Llama decoder layers (merv's {@link LlamaModel} layers: RMSNorm,
 * rotary q/k, fused causal SDPA, SwiGLU MLP), timed per step, for the GPU kit. Its PyTorch twin is
 * {@code bench/gpu/decoder_stack.py} (same shapes, same maths); the kit runs both on the same machine
 * and reports the ratio. Prints one JSON line.
 *
 * <pre>java -cp ... dev.merv.llm.llama.DecoderStackBench --device gpu0 --dtype bf16 --layers 4 --hidden 4096
 *     --heads 32 --kv-heads 32 --mlp 11008 --batch 1 --seq 2048 --steps 10 --warmup 3</pre>
 *
 * A step: a random {@code [B, T, D]} input that needs a gradient, every layer's forward with
 * autograd, backward from a random upstream gradient of the output, then one element of the input's
 * gradient read back (which waits for the device). Weights are random; their gradients accumulate
 * from step to step, as in the twin (one add per weight per step, as in gradient accumulation). Model FLOPs per step count the matmuls (2 per multiply-add) and the attention
 * score and value products over the causal half, forward and twice that for backward.
 */
public final class DecoderStackBench {

    private DecoderStackBench() {}

    public static void main(String[] args) {
        Flags a = Flags.parse("DecoderStackBench", args,
                List.of("device", "dtype", "layers", "hidden", "heads", "kv_heads", "mlp", "batch", "seq", "steps", "warmup"));
        String deviceSpec = a.get("device", "cpu");
        ScalarType dtype = ScalarType.parse(a.get("dtype", "bf16"));
        int layers = a.getInt("layers", 2);
        int hidden = a.getInt("hidden", 256);
        int heads = a.getInt("heads", 8);
        int kvHeads = a.getInt("kv_heads", heads);
        int mlp = a.getInt("mlp", hidden * 11 / 4);
        int batch = a.getInt("batch", 2);
        int seq = a.getInt("seq", 128);
        int steps = a.getInt("steps", 5);
        int warmup = a.getInt("warmup", 2);
        Device device = Devices.parse(deviceSpec).get(0);

        try (NDManager m = NDManager.newBaseManager(device)) {
            LlamaModel model = Llama.builder().modelType("llama").vocabSize(256).hiddenSize(hidden).intermediateSize(mlp)
                    .numLayers(layers).numHeads(heads).numKvHeads(kvHeads).ropeTheta(10000).maxPositionEmbeddings(
                            Math.max(4096, seq)).build("decoder-stack-bench", m);
            // random weights made on the device (LlamaModel.initRandom draws them in Java: minutes for a 7B-shaped stack)
            model.namedParameters().forEach((name, p) -> {
                NDArray w = name.endsWith("norm.weight") ? m.ones(p.shape(), DataType.FLOAT32)
                        : m.randomNormal(0f, 0.02f, p.shape(), DataType.FLOAT32);
                if (dtype != ScalarType.FLOAT32) {
                    NDArray c = Torch.copy(w, dtype);
                    w.close();
                    w = c;
                }
                p.set(w);
            });
            double[] ms = new double[steps];
            for (int s = -warmup; s < steps; s++) {
                try (NDManager sm = m.newSubManager()) {
                    NDArray x0 = sm.randomNormal(0f, 1f, new Shape(batch, seq, hidden), DataType.FLOAT32);
                    NDArray g0 = sm.randomNormal(0f, 1f, new Shape(batch, seq, hidden), DataType.FLOAT32);
                    NDArray x = Torch.copy(x0, dtype);
                    NDArray gradOut = Torch.copy(g0, dtype);
                    x.setRequiresGradient(true);
                    long t0 = System.nanoTime();
                    try (Torch.GradMode g = Torch.withGrad();
                            LanguageModel.LayerContext ctx = model.prepare(null, null, null, seq)) {
                        NDArray h = x;
                        for (int i = 0; i < layers; i++) {
                            h = model.layer(i, h, ctx);
                        }
                        JniUtils.backward((PtNDArray) h, (PtNDArray) gradOut, false, false);
                    }
                    PtNDArray gx = JniUtils.getGradient((PtNDArray) x);
                    float probe = Torch.toFloatArray(gx.get(0, 0, 0))[0]; // waits for the device
                    long dt = System.nanoTime() - t0;
                    gx.close();
                    if (!Float.isFinite(probe)) {
                        throw new IllegalStateException("non-finite input gradient at step " + s);
                    }
                    if (s >= 0) {
                        ms[s] = dt / 1e6;
                    }
                }
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            double median = sorted[sorted.length / 2];
            long tokens = (long) batch * seq;
            double flops = stepFlops(layers, hidden, heads, kvHeads, mlp, batch, seq);
            System.out.printf(Locale.ROOT,
                    "{\"impl\": \"merv\", \"device\": \"%s\", \"torch\": \"%s\", \"dtype\": \"%s\", \"layers\": %d, \"hidden\": %d,"
                            + " \"heads\": %d, \"kv_heads\": %d, \"mlp\": %d, \"batch\": %d, \"seq\": %d, \"steps\": %d,"
                            + " \"step_ms_median\": %.3f, \"step_ms_best\": %.3f, \"tokens_per_s\": %.1f, \"model_tflops_per_s\": %.4f}%n",
                    device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu", Torch.libtorchVersion(), dtype.name().toLowerCase(Locale.ROOT), layers, hidden, heads, kvHeads, mlp,
                    batch, seq, steps, median, sorted[0], tokens / (median / 1e3), flops / (median / 1e3) / 1e12);
        }
        System.exit(0); // DJL leaves non-daemon threads behind
    }

    /** Model FLOPs of one forward + backward step (backward = 2 x forward), causal attention counted over half the scores. */
    static double stepFlops(int layers, int hidden, int heads, int kvHeads, int mlp, int batch, int seq) {
        double tokens = (double) batch * seq;
        int headDim = hidden / heads;
        double proj = 2.0 * tokens * hidden * (hidden + 2.0 * kvHeads * headDim + hidden); // q, k, v, o
        double ffn = 2.0 * tokens * 3.0 * hidden * mlp; // gate, up, down
        double attn = 2.0 * 2.0 * batch * (double) seq * seq * hidden / 2.0; // QK^T and PV, causal half
        return 3.0 * layers * (proj + ffn + attn);
    }

}
