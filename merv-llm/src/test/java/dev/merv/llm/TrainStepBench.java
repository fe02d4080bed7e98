package dev.merv.llm;

import dev.merv.core.config.Flags;
import dev.merv.core.io.FileTrees;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.model.Precision;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.Cuda;
import dev.merv.core.torch.Transfers;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.BatchSource;
import dev.merv.core.train.CausalLmLoss;
import dev.merv.core.train.Devices;
import dev.merv.core.train.LossSum;
import dev.merv.core.train.MicroBatch;
import dev.merv.core.train.StepRecord;
import dev.merv.core.train.TrainConfig;
import dev.merv.core.train.TrainableModel;
import dev.merv.core.train.Trainer;
import dev.merv.llm.llama.Llama;
import dev.merv.llm.llama.LlamaModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * merv's whole training step on a Llama decoder (embedding, layers, final norm, LM head, summed
 * cross-entropy) through the real {@link Trainer}: bf16 compute copies, fused causal SDPA (right-padded
 * batches attend causally, {@link MaskLayout#PREFIX}), backward, fp32 gradient buckets, global-norm clip,
 * AdamW on fp32 masters, republished bf16 weights; with and without per-layer recomputation. For the GPU kit
 * at MERV's finetune shape (a Llama-2-7B-shaped stack, 2048 tokens of which the first 64 stand for the
 * visual tokens and are not supervised); its PyTorch twin is {@code bench/gpu/train_step.py}.
 *
 * <pre>java -cp ... dev.merv.llm.TrainStepBench --device gpu0 --dtype bf16 --layers 8 --hidden 4096 --heads 32
 *     --kv-heads 32 --mlp 11008 --vocab 32064 --batch 1 --seq 2048 --visual 64 --steps 5 --warmup 2</pre>
 *
 * Prints one JSON line per mode ({@code "name": "train_step"} or {@code "train_step_recompute"}): median and
 * best step ms (the trainer's own step time; steps end with the step's one device read, so queued work is
 * paid by the next step and the median is the steady state), tokens/s, model TFLOP/s (matmul FLOPs of
 * forward + backward, attention over the causal half, recomputation not counted), and on a GPU the device
 * memory in use after the mode ({@code cudaMemGetInfo}: the caching allocator's reserved peak so far plus
 * the CUDA context) against the trainer's memory formula without activations ({@link Trainer#memoryFormula}).
 * Recomputation runs first, so the second reading is the plain mode's peak.
 */
public final class TrainStepBench {

    private TrainStepBench() {}

    /** The bench's micro-batch: ids and labels on the replica's device (LoraStepBench's too). */
    public record Batch(NDArray ids, NDArray labels, long tokens, int rows, NDManager manager) implements MicroBatch {
        @Override
        public int samples() {
            return rows;
        }

        @Override
        public long supervisedTokens() {
            return tokens;
        }

        @Override
        public void close() {
            manager.close();
        }
    }

    /** The decoder as the trainer's model: the whole causal LM, also layer by layer for recomputation. */
    public static final class LlamaTrainable implements TrainableModel<Batch> {
        private final LlamaModel llm;

        public LlamaTrainable(LlamaModel llm) {
            this.llm = llm;
        }

        @Override
        public Map<String, Param> parameters() {
            return llm.namedParameters();
        }

        @Override
        public LossSum forward(Batch b) {
            NDArray logits = llm.forward(llm.embed(b.ids()), null, null, null, MaskLayout.NONE);
            return CausalLmLoss.sum(logits, b.labels(), b.tokens());
        }

        @Override
        public Layered<Batch> layered() {
            return new Layered<>() {
                @Override
                public Prefix prefix(Batch b) {
                    NDArray h = llm.embed(b.ids());
                    return new Prefix(h, llm.prepare(null, null, null, (int) h.getShape().get(1), MaskLayout.NONE));
                }

                @Override
                public int numLayers() {
                    return llm.numLayers();
                }

                @Override
                public NDArray layer(int index, NDArray hidden, LanguageModel.LayerContext ctx) {
                    return llm.layer(index, hidden, ctx);
                }

                @Override
                public int layerOf(String name) {
                    return Layered.layerIndex("model.layers.", name);
                }

                @Override
                public LossSum head(NDArray hidden, LanguageModel.LayerContext ctx, Batch b) {
                    return CausalLmLoss.sum(llm.head(hidden), b.labels(), b.tokens());
                }
            };
        }
    }

    /** Random token rows, the same every step; the first {@code visual} positions and the first are unsupervised. */
    public static final class Source implements BatchSource<Batch> {
        final long[] ids;
        final long[] labels;
        final int rows;
        final int seq;
        final long tokens;

        public Source(int rows, int seq, int vocab, int visual) {
            this.rows = rows;
            this.seq = seq;
            Random r = new Random(1);
            ids = new long[rows * seq];
            labels = new long[rows * seq];
            long n = 0;
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(vocab);
                int pos = i % seq;
                labels[i] = pos <= visual ? CausalLmLoss.IGNORE_INDEX : ids[i];
                n += pos >= 1 && labels[i] != CausalLmLoss.IGNORE_INDEX ? 1 : 0;
            }
            tokens = n;
        }

        @Override
        public long stepsPerEpoch(int epoch, BatchPlan plan) {
            return 1_000_000;
        }

        @Override
        public Batch load(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan, NDManager manager) {
            NDManager m = manager.newSubManager();
            Shape s = new Shape(rows, seq);
            return new Batch(Transfers.upload(ids, s, m), Transfers.upload(labels, s, m), tokens, rows, m);
        }
    }


    public static void main(String[] args) throws IOException {
        Flags a = Flags.parse("TrainStepBench", args,
                List.of("device", "dtype", "layers", "hidden", "heads", "kv_heads", "mlp", "vocab", "batch", "seq", "visual", "steps", "warmup", "modes"));
        String deviceSpec = a.get("device", "cpu");
        Precision precision = Precision.parse(a.get("dtype", "bf16"));
        int layers = a.getInt("layers", 2);
        int hidden = a.getInt("hidden", 256);
        int heads = a.getInt("heads", 8);
        int kvHeads = a.getInt("kv_heads", heads);
        int mlp = a.getInt("mlp", hidden * 11 / 4);
        int vocab = a.getInt("vocab", 1024);
        int batch = a.getInt("batch", 1);
        int seq = a.getInt("seq", 256);
        int visual = a.getInt("visual", 16);
        int steps = a.getInt("steps", 5);
        int warmup = a.getInt("warmup", 2);
        String modes = a.get("modes", "recompute,plain");
        Device device = Devices.parse(deviceSpec).get(0);
        long[] baseline = device.isGpu() ? Cuda.memoryInfo(device.getDeviceId()) : null;

        Source source = new Source(batch, seq, vocab, visual);
        for (String mode : modes.split(",")) {
            boolean recompute = mode.equals("recompute");
            Path runs = Files.createTempDirectory("merv-train-step-bench");
            TrainConfig c = new TrainConfig();
            c.runRootDir = runs.toString();
            c.runId = "bench";
            c.devices = deviceSpec;
            c.globalBatchSize = batch;
            c.perDeviceBatchSize = batch;
            c.maxSteps = warmup + steps;
            c.warmupRatio = 0;
            c.learningRate = 1e-5;
            c.precision = precision;
            c.recompute = recompute;
            c.console = false;
            c.saveCheckpointAfter = Long.MAX_VALUE;
            c.checkpointAtEnd = false; // the timed steps are the bench, not the state they leave
            List<StepRecord> records = new ArrayList<>();
            long formula;
            try (Trainer<Batch> trainer = new Trainer<>(c, (rank, d, manager) -> {
                LlamaModel llm = Llama.builder().modelType("llama").vocabSize(vocab).hiddenSize(hidden).intermediateSize(mlp)
                        .numLayers(layers).numHeads(heads).numKvHeads(kvHeads).ropeTheta(10000)
                        .maxPositionEmbeddings(Math.max(4096, seq)).build("train-step-bench", manager);
                // fp32 masters drawn on the device (drawing 7B-shaped weights in Java takes minutes)
                llm.namedParameters().forEach((name, p) -> p.set(name.endsWith("norm.weight")
                        ? manager.ones(p.shape(), DataType.FLOAT32)
                        : manager.randomNormal(0f, 0.02f, p.shape(), DataType.FLOAT32)));
                return new LlamaTrainable(llm);
            }, source, null)) {
                formula = trainer.memoryFormula();
                records.addAll(trainer.run());
            } finally {
                deleteTree(runs);
            }
            for (StepRecord r : records) {
                if (!Double.isFinite(r.loss())) {
                    throw new IllegalStateException("non-finite loss at step " + r.step());
                }
            }
            double[] ms = records.subList(warmup, records.size()).stream().mapToDouble(r -> r.stepTimeS() * 1e3).toArray();
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            double median = sorted[sorted.length / 2];
            long tokens = (long) batch * seq;
            double flops = stepFlops(layers, hidden, heads, kvHeads, mlp, vocab, batch, seq);
            String memory = "";
            if (device.isGpu()) {
                long[] now = Cuda.memoryInfo(device.getDeviceId());
                long used = now[1] - now[0];
                long before = baseline[1] - baseline[0];
                memory = String.format(Locale.ROOT, ", \"device_used_bytes\": %d, \"device_used_before_bytes\": %d,"
                        + " \"device_total_bytes\": %d, \"memory_formula_bytes\": %d", used, before, now[1], formula);
            } else {
                memory = String.format(Locale.ROOT, ", \"memory_formula_bytes\": %d", formula);
            }
            System.out.printf(Locale.ROOT,
                    "{\"impl\": \"merv\", \"name\": \"%s\", \"device\": \"%s\", \"dtype\": \"%s\", \"layers\": %d, \"hidden\": %d,"
                            + " \"heads\": %d, \"kv_heads\": %d, \"mlp\": %d, \"vocab\": %d, \"batch\": %d, \"seq\": %d,"
                            + " \"visual\": %d, \"steps\": %d, \"recompute\": %b, \"step_ms_median\": %.3f, \"step_ms_best\": %.3f,"
                            + " \"tokens_per_s\": %.1f, \"model_tflops_per_s\": %.4f, \"final_loss\": %.5f%s}%n",
                    recompute ? "train_step_recompute" : "train_step", device.isGpu() ? "cuda:" + device.getDeviceId() : "cpu",
                    precision.compute().name().toLowerCase(Locale.ROOT), layers, hidden, heads, kvHeads, mlp, vocab, batch,
                    seq, visual, steps, recompute, median, sorted[0], tokens / (median / 1e3), flops / (median / 1e3) / 1e12,
                    records.get(records.size() - 1).loss(), memory);
        }
        System.exit(0); // DJL leaves non-daemon threads behind
    }

    /**
     * Model FLOPs of one training step (forward + backward = 3 x forward): q/k/v/o and MLP matmuls, attention
     * scores and values over the causal half, the LM head; the embedding lookup and norms are not counted.
     */
    static double stepFlops(int layers, int hidden, int heads, int kvHeads, int mlp, int vocab, int batch, int seq) {
        double tokens = (double) batch * seq;
        int headDim = hidden / heads;
        double proj = 2.0 * tokens * hidden * (hidden + 2.0 * kvHeads * headDim + hidden);
        double ffn = 2.0 * tokens * 3.0 * hidden * mlp;
        double attn = 2.0 * 2.0 * batch * (double) seq * seq * hidden / 2.0;
        double head = 2.0 * tokens * hidden * vocab;
        return 3.0 * (layers * (proj + ffn + attn) + head);
    }

    private static void deleteTree(Path dir) {
        FileTrees.delete(dir);
    }

}
