package dev.merv.llm.lora;

import dev.merv.llm.LlmRegistry;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.model.Precision;
import dev.merv.core.nn.Param;
import dev.merv.core.train.MemoryPlan;
import dev.merv.core.train.TrainConfig;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.core.testing.RepoDocs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * LoRA at real size on the CPU without allocating a weight: real-size LLMs built empty (parameters with shapes and
 * no values), adapters mounted, counted, and planned with the trainer's memory formula ({@link MemoryPlan}). The
 * LoRA memory table of {@code docs/gpus.md} is this test's output (between {@code <!-- lora:memory -->} markers;
 * {@code -Dmerv.updateDocs=true} rewrites it).
 */
class LoraScaleTest {

    private static final LoraConfig R128 = LoraConfig.of(128, 256);
    private static final long DEFAULT_BUCKET = new TrainConfig().bucketCapElements;

    /** {@code r * (in + out)} for every linear layer of every decoder layer, from the config's shapes. */
    static long expectedAdapters(LlamaConfig c, int r) {
        long d = c.hiddenSize();
        long q = (long) c.numHeads() * c.headDim();
        long kv = (long) c.numKvHeads() * c.headDim();
        long i = c.intermediateSize();
        long perLayer = r * ((d + q) + (d + kv) + (d + kv) + (q + d) + 2 * (d + i) + (i + d));
        return perLayer * c.numLayers();
    }

    @Test
    void llama2SevenBAtRank128OnEveryLinearLayer() {
        try (NDManager m = NDManager.newBaseManager(); LlamaModel model = LlmRegistry.preset("llama2-7b-pure")
                .build("llama2-7b-pure", m)) {
            long base = model.parameterCount();
            Lora lora = Lora.apply(model, R128);
            long expected = expectedAdapters(model.config(), 128);
            assertThat(lora.parameterCount()).isEqualTo(expected);
            // the count PEFT prints for LLaVA's 7B LoRA (r = 128 on q/k/v/o/gate/up/down)
            assertThat(expected).isEqualTo(319_815_680L);
            assertThat(lora.modulePaths()).hasSize(7 * model.numLayers());
            assertThat(model.parameterCount()).isEqualTo(base + expected);
            assertThat(model.namedParameters().values()).noneMatch(Param::isSet);

            model.setTrainable(false);
            lora.parameters().values().forEach(p -> p.setTrainable(true));
            MemoryPlan one = MemoryPlan.of(model.namedParameters(), Precision.BF16, 1, DEFAULT_BUCKET);
            assertThat(one.trainable()).isEqualTo(expected);
            assertThat(one.frozenBytes()).isEqualTo(2 * base);
            assertThat(one.optimizerStateBytes()).isEqualTo(16 * expected);
            System.out.printf(Locale.ROOT, "llama2-7b LoRA r=128: %,d adapter elements; optimizer state (fp32 master,"
                    + " 2 moments, grad accumulator) %.2f GB on 1 device (moments alone %.2f GB), %.2f GB each on 4;"
                    + " frozen bf16 base %.2f GB; total without activations %.2f GB%n", expected,
                    one.optimizerStateBytes() / 1e9, 8.0 * expected / 1e9,
                    MemoryPlan.of(model.namedParameters(), Precision.BF16, 4, DEFAULT_BUCKET).optimizerStateBytes() / 1e9,
                    one.frozenBytes() / 1e9, one.total() / 1e9);
            // against a full finetune of the same model: 16 bytes per each of its 6.7 B elements
            assertThat(one.optimizerStateBytes()).isLessThan(16 * base / 20);
            assertThat(one.optimizerStateBytes()).isLessThan(5_200_000_000L);
        }
    }

    @Test
    void targetsChooseTheLayersAndTheCountFollows() {
        try (NDManager m = NDManager.newBaseManager(); LlamaModel model = LlmRegistry.preset("qwen2.5-7b-instruct")
                .build("qwen2.5-7b-instruct", m)) {
            Lora lora = Lora.apply(model, LoraConfig.of(16, 32).withTargets(List.of("q_proj", "v_proj")));
            LlamaConfig c = model.config();
            long q = (long) c.numHeads() * c.headDim();
            long kv = (long) c.numKvHeads() * c.headDim();
            assertThat(lora.parameterCount()).isEqualTo(16L * c.numLayers() * ((c.hiddenSize() + q) + (c.hiddenSize() + kv)));
            assertThat(lora.modulePaths()).allMatch(p -> p.endsWith("q_proj") || p.endsWith("v_proj"));
        }
    }

    @Test
    void docsMemoryTableIsTheFormulas() throws IOException {
        StringBuilder t = new StringBuilder();
        t.append("| LLM | its parameters | LoRA r=128 adapters | base weights, bf16 | adapters + grads, bf16 | optimizer"
                + " state, 16 B/adapter element | total before activations |\n");
        t.append("|---|---|---|---|---|---|---|\n");
        for (String id : List.of("qwen2.5-3b-instruct", "llama2-7b-pure", "qwen2.5-7b-instruct", "llama3.1-8b-chat",
                "llama2-13b-chat")) {
            try (NDManager m = NDManager.newBaseManager(); LlamaModel model = LlmRegistry.preset(id).build(id, m)) {
                long base = model.parameterCount();
                Lora lora = Lora.apply(model, R128);
                model.setTrainable(false);
                lora.parameters().values().forEach(p -> p.setTrainable(true));
                MemoryPlan p = MemoryPlan.of(model.namedParameters(), Precision.BF16, 1, DEFAULT_BUCKET);
                t.append(String.format(Locale.ROOT, "| `%s` | %.2f B | %.1f M | %.1f GB | %.2f GB | %.2f GB | %.1f GB |%n", id,
                        base / 1e9, lora.parameterCount() / 1e6, p.frozenBytes() / 1e9, p.computeWeightsAndGrads() / 1e9,
                        p.optimizerStateBytes() / 1e9, p.total() / 1e9));
            }
        }
        Path file = RepoDocs.file("gpus.md");
        String md = Files.readString(file, StandardCharsets.UTF_8);
        Matcher mt = Pattern.compile("(<!-- lora:memory -->\\n)(.*?)(<!-- /lora:memory -->)", Pattern.DOTALL).matcher(md);
        assertThat(mt.find()).as(file + " has the lora:memory markers").isTrue();
        if (Boolean.getBoolean("merv.updateDocs")) {
            String updated = md.substring(0, mt.start(2)) + t + md.substring(mt.end(2));
            Path tmp = Files.createTempFile(file.getParent(), "gpus", ".md.tmp");
            Files.writeString(tmp, updated, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } else {
            assertThat(mt.group(2)).as(file + " LoRA memory table (rerun with -Dmerv.updateDocs=true to regenerate)")
                    .isEqualTo(t.toString());
        }
    }
}
