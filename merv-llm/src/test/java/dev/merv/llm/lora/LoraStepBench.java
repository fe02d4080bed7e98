package dev.merv.llm.lora;

import dev.merv.core.config.Flags;
import dev.merv.core.io.FileTrees;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.model.Precision;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Devices;
import dev.merv.core.train.MemoryPlan;
import dev.merv.core.train.StepRecord;
import dev.merv.core.train.TrainConfig;
import dev.merv.core.train.Trainer;
import dev.merv.llm.TrainStepBench;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One LoRA training step of a full-depth Llama decoder through merv's real trainer (bf16 compute, the frozen base
 * held in bf16, adapters with fp32 masters and AdamW moments in {@code ZeroShard}, per-layer recomputation), timed,
 * for the GPU kit. Its PyTorch twin is {@code bench/gpu/lora_step.py} (same shapes, same maths, HF transformers +
 * PEFT when installed, else plain PyTorch LoRA); the kit runs both on the same card and reports the ratio. Prints
 * one JSON line.
 *
 * <pre>java -cp ... dev.merv.llm.lora.LoraStepBench --device gpu0 --layers 32 --hidden 4096 --heads 32 --kv-heads 32
 *     --mlp 11008 --vocab 32000 --seq 3072 --batch 4 --r 128 --alpha 256 --steps 5 --warmup 2 --peak-tflops 989</pre>
 *
 * Defaults are Llama-2-7B's shape at MERV's finetune length (2048 text + 1024 visual tokens). Weights are random
 * (drawn on the device), the tokens random ids, every position supervised. A step is the trainer's: forward and
 * backward with recomputation, gradients into fp32 buckets, global-norm clip, AdamW on the masters, fresh bf16
 * copies of the adapters; its time is the trainer's {@code StepRecord.stepTimeS}. The run stops after the last
 * timed step, before the trainer's closing checkpoint (the bench does not measure writing 5 GB of state).
 *
 * <p>Model FLOPs per step (no recomputation counted, the twin's formula): every frozen matrix product forward and
 * its input gradient backward ({@code 4 P tokens} for the {@code P} elements of the decoder's linear layers and the
 * LM head), the adapters forward, input and weight gradients ({@code 6 Pa tokens}), attention scores and values
 * over the causal half forward and twice that backward. MFU divides by {@code --peak-tflops} (dense bf16 of the
 * card; none given, no MFU). Memory: the device's memory in use (cudaMemGetInfo, so the caching allocator's
 * reserve included), highest over the timed steps, beside {@link MemoryPlan}'s formula and the activations
 * recomputation keeps (every layer's input, the fp32 logits and their gradient).
 */
public final class LoraStepBench {

    private LoraStepBench() {}

    public static void main(String[] args) throws IOException {
        Flags a = Flags.parse("LoraStepBench", args,
                List.of("device", "layers", "hidden", "heads", "kv_heads", "mlp", "vocab", "seq", "batch", "r", "alpha", "steps", "warmup", "peak_tflops", "dtype"));
        String deviceSpec = a.get("device", "cpu");
        int layers = a.getInt("layers", 32);
        int hidden = a.getInt("hidden", 4096);
        int heads = a.getInt("heads", 32);
        int kvHeads = a.getInt("kv_heads", heads);
        int mlp = a.getInt("mlp", 11008);
        int vocab = a.getInt("vocab", 32000);
        int seq = a.getInt("seq", 3072);
        int batch = a.getInt("batch", 1);
        int r = a.getInt("r", 128);
        double alpha = a.getDouble("alpha", 2 * r);
        int steps = a.getInt("steps", 5);
        int warmup = a.getInt("warmup", 2);
        double peakTflops = a.getDouble("peak_tflops", 0);
        Precision precision = Precision.parse(a.get("dtype", "bf16"));
        Device device = Devices.parse(deviceSpec).get(0);
        LoraConfig lora = LoraConfig.of(r, alpha);

        TrainConfig c = new TrainConfig();
        Path root = Files.createTempDirectory("merv-lora-bench");
        c.runRootDir = root.toString();
        c.runId = "bench";
        c.devices = deviceSpec;
        c.globalBatchSize = batch;
        c.perDeviceBatchSize = batch;
        c.maxSteps = warmup + steps;
        c.learningRate = 2e-4;
        c.warmupRatio = 0;
        c.precision = precision;
        c.recompute = true;
        c.console = false;
        c.saveCheckpointAfter = Long.MAX_VALUE;
        c.checkpointAtEnd = false; // the timed steps are the bench, not the state they leave

        // the training-step bench's rows, every position but the first supervised
        TrainStepBench.Source source = new TrainStepBench.Source(batch, seq, vocab, 0);

        long[] counts = new long[2];
        Trainer.ReplicaFactory<TrainStepBench.Batch> factory = (rank, dev, manager) -> {
            LlamaModel llm = Llama.builder().modelType("llama").vocabSize(vocab).hiddenSize(hidden).intermediateSize(mlp)
                    .numLayers(layers).numHeads(heads).numKvHeads(kvHeads).ropeTheta(10000)
                    .maxPositionEmbeddings(Math.max(4096, seq)).build("lora-step-bench", manager);
            ScalarType frozen = precision.compute();
            // random base weights drawn on the device, one tensor at a time, straight in the frozen dtype
            llm.namedParameters().forEach((name, p) -> {
                NDArray w = name.endsWith("norm.weight") ? llm.manager().ones(p.shape(), DataType.FLOAT32)
                        : llm.manager().randomNormal(0f, 0.02f, p.shape(), DataType.FLOAT32);
                if (frozen != ScalarType.FLOAT32) {
                    NDArray cast = Torch.copy(w, frozen);
                    w.close();
                    w = cast;
                }
                p.set(w);
            });
            counts[0] = llm.parameterCount();
            Lora adapters = Lora.apply(llm, lora);
            adapters.initialize(7, llm.manager());
            adapters.training(true);
            llm.setTrainable(false);
            adapters.parameters().values().forEach(p -> p.setTrainable(true));
            counts[1] = adapters.parameterCount();
            return new TrainStepBench.LlamaTrainable(llm);
        };

        double[] ms = new double[steps];
        AtomicLong peakUsed = new AtomicLong();
        AtomicBoolean polling = new AtomicBoolean(device.isGpu());
        Thread poll = new Thread(() -> {
            while (polling.get()) {
                peakUsed.accumulateAndGet(usedBytes(device), Math::max);
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "lora-bench-memory");
        poll.setDaemon(true);
        long formula;
        double lastLoss;
        List<Double> losses = new ArrayList<>();
        try (Trainer<TrainStepBench.Batch> t = new Trainer<>(c, factory, source, null)) {
            formula = t.memoryFormula();
            long before = usedBytes(device);
            t.onStep(rec -> {
                long i = rec.step() - warmup - 1;
                losses.add(rec.loss());
                if (i == 0) {
                    peakUsed.set(before);
                    poll.start();
                }
                if (i >= 0 && i < steps) {
                    ms[(int) i] = rec.stepTimeS() * 1e3;
                }
            });
            t.run();
        } finally {
            polling.set(false);
            deleteTree(root);
        }
        lastLoss = losses.isEmpty() ? Double.NaN : losses.get(losses.size() - 1);
        if (!Double.isFinite(lastLoss)) {
            throw new IllegalStateException("non-finite loss " + losses);
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = sorted[sorted.length / 2];
        long tokens = (long) batch * seq;
        double flops = stepFlops(layers, hidden, heads, kvHeads, mlp, vocab, batch, seq, counts[1]);
        double tflops = flops / (median / 1e3) / 1e12;
        long activations = activationBytes(layers, hidden, vocab, batch, seq, precision.compute().bytes());
        System.out.printf(Locale.ROOT,
                "{\"impl\": \"merv\", \"device\": \"%s\", \"torch\": \"%s\", \"dtype\": \"%s\", \"layers\": %d, \"hidden\": %d,"
                        + " \"heads\": %d, \"kv_heads\": %d, \"mlp\": %d, \"vocab\": %d, \"batch\": %d, \"seq\": %d, \"r\": %d,"
                        + " \"alpha\": %s, \"base_params\": %d, \"adapter_params\": %d, \"steps\": %d, \"step_ms_median\": %.3f,"
                        + " \"step_ms_best\": %.3f, \"tokens_per_s\": %.1f, \"model_tflops_per_s\": %.4f, \"mfu\": %s,"
                        + " \"peak_device_used_gb\": %s, \"formula_gb\": %.3f, \"activations_gb\": %.3f, \"last_loss\": %.4f}%n",
                device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu", Torch.libtorchVersion(), precision, layers, hidden,
                heads, kvHeads, mlp, vocab, batch, seq, r, Double.toString(alpha), counts[0], counts[1], steps, median,
                sorted[0], tokens / (median / 1e3), tflops,
                peakTflops > 0 ? String.format(Locale.ROOT, "%.4f", tflops / peakTflops) : "null",
                device.isGpu() ? String.format(Locale.ROOT, "%.3f", peakUsed.get() / 1e9) : "null", formula / 1e9,
                activations / 1e9, lastLoss);
        System.exit(0); // DJL leaves non-daemon threads behind
    }

    /**
     * Model FLOPs of one LoRA step (the twin's formula): frozen matrices forward + input gradient (4 per element and
     * token), adapters forward + input + weight gradients (6), attention over the causal half, backward twice forward.
     */
    static double stepFlops(int layers, int hidden, int heads, int kvHeads, int mlp, int vocab, int batch, int seq,
            long adapterParams) {
        double tokens = (double) batch * seq;
        int headDim = hidden / heads;
        double frozen = (double) layers * ((double) hidden * (hidden + 2.0 * kvHeads * headDim + hidden) + 3.0 * hidden * mlp)
                + (double) hidden * vocab;
        double attn = layers * 2.0 * 2.0 * batch * (double) seq * seq * hidden / 2.0;
        return 4.0 * frozen * tokens + 6.0 * adapterParams * tokens + 3.0 * attn;
    }

    /** What recomputation keeps: every layer's input in the compute dtype, the fp32 logits and their gradient. */
    static long activationBytes(int layers, int hidden, int vocab, int batch, int seq, int computeBytes) {
        long tokens = (long) batch * seq;
        return (long) layers * tokens * hidden * computeBytes + 2L * tokens * vocab * 4;
    }

    private static long usedBytes(Device device) {
        if (!device.isGpu()) {
            return 0;
        }
        return ai.djl.util.cuda.CudaUtils.getGpuMemory(device).getUsed();
    }

    private static void deleteTree(Path root) {
        FileTrees.deleteBestEffort(root);
    }

}
