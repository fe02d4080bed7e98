package dev.merv.llm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.llm.generate.GenerationResult;
import dev.merv.llm.generate.Generator;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * CPU throughput of a small random Llama-3-shaped model (GQA): tokens/s of KV-cached vs recomputed greedy
 * generation, and forward tokens/s in fp32 vs bf16. Ratios are against a baseline measured in the same run.
 *
 * <pre>mvn -o -q -pl merv-llm -am test-compile -Dbench</pre>
 * (the {@code bench} profile of merv-llm's pom runs this main with the test classpath).
 */
public final class LlmBench {

    private LlmBench() {}

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        // one intra-op thread: on a shared 2-core box, libtorch's spinning OpenMP workers make timings meaningless
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", "1");
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        int hidden = 256;
        try (NDManager m = NDManager.newBaseManager()) {
            LlamaModel fp32 = Llama.builder().modelType("llama").vocabSize(4096).hiddenSize(hidden).intermediateSize(688)
                    .numLayers(4).numHeads(8).numKvHeads(2).ropeTheta(500000).build("bench-llama", m);
            fp32.initRandom(1, ScalarType.FLOAT32);
            LlamaModel bf16 = Llama.builder().modelType("llama").vocabSize(4096).hiddenSize(hidden).intermediateSize(688)
                    .numLayers(4).numHeads(8).numKvHeads(2).ropeTheta(500000).build("bench-llama-bf16", m);
            bf16.initRandom(1, ScalarType.BFLOAT16);

            System.out.printf("model: hidden %d, 4 layers, 8 heads / 2 KV heads, vocab 4096; torch intra-op threads: %s%n",
                    hidden, System.getProperty("ai.djl.pytorch.num_threads"));
            // generation: batch 1 and 4, prompt 32, 32 new tokens
            System.out.println();
            System.out.println("| generation (greedy, prompt 32, 32 new) | batch | tokens/s | ratio vs uncached |");
            System.out.println("|---|---|---|---|");
            for (int batch : new int[] {1, 4}) {
                List<long[]> prompts = new ArrayList<>();
                Random r = new Random(3);
                for (int i = 0; i < batch; i++) {
                    long[] p = new long[32];
                    for (int j = 0; j < p.length; j++) {
                        p[j] = 3 + r.nextInt(4000);
                    }
                    prompts.add(p);
                }
                GenerationConfig cfg = GenerationConfig.greedy(32, Set.of(), 0);
                double uncached = genRate(fp32, prompts, cfg.withCache(false));
                double cached = genRate(fp32, prompts, cfg);
                System.out.printf("| recomputed (no cache) | %d | %.1f | 1.00 |%n", batch, uncached);
                System.out.printf("| KV cache | %d | %.1f | %.2f |%n", batch, cached, cached / uncached);
            }
            System.out.println();
            System.out.println("| forward (no grad), batch 4 x 128 tokens | tokens/s | ratio vs fp32 |");
            System.out.println("|---|---|---|");
            double f32 = forwardRate(fp32, m, 4, 128);
            double b16 = forwardRate(bf16, m, 4, 128);
            System.out.printf("| fp32 | %.0f | 1.00 |%n", f32);
            System.out.printf("| bf16 | %.0f | %.2f |%n", b16, b16 / f32);
        }
        // DJL leaves non-daemon threads behind; exec:java would wait for them forever
        System.exit(0);
    }

    private static double genRate(LlamaModel model, List<long[]> prompts, GenerationConfig cfg) {
        Generator.generate(model, prompts, cfg, null); // warm-up
        long best = Long.MAX_VALUE;
        int tokens = 0;
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            GenerationResult res = Generator.generate(model, prompts, cfg, null);
            best = Math.min(best, System.nanoTime() - t0);
            tokens = res.tokens().stream().mapToInt(a -> a.length).sum();
        }
        return tokens / (best / 1e9);
    }

    private static double forwardRate(LlamaModel model, NDManager parent, int batch, int len) {
        long best = Long.MAX_VALUE;
        try (Torch.GradMode g = Torch.noGrad()) {
            for (int rep = 0; rep < 9; rep++) {
                try (NDManager sm = parent.newSubManager()) {
                    NDArray ids = sm.randomInteger(3, 4000, new Shape(batch, len), ai.djl.ndarray.types.DataType.INT64);
                    long t0 = System.nanoTime();
                    NDArray logits = model.forward(model.embed(ids), null, null, null);
                    logits.get(0, 0, 0).toFloatArray();
                    long dt = System.nanoTime() - t0;
                    if (rep > 0) {
                        best = Math.min(best, dt);
                    }
                }
            }
        }
        return batch * len / (best / 1e9);
    }
}
