package dev.merv.llm.llama;

import dev.merv.core.train.CausalLmLoss;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.llm.generate.GenerationTest;
import dev.merv.llm.generate.GenerationResult;
import dev.merv.llm.generate.Generator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** bf16 weights: the forward and backward run (bf16-unsafe DJL calls avoided) and stay close to fp32. */
class PrecisionTest {

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void bf16CloseToFp32(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = NDManager.newBaseManager();
                Torch.GradMode g = Torch.withGrad()) {
            LlamaModel ref = LlmFixtureTest.build(f, m, ScalarType.FLOAT32);
            LlamaModel half = LlmFixtureTest.build(f, m, ScalarType.BFLOAT16);
            assertThat(half.computeDtype()).isEqualTo(ScalarType.BFLOAT16);
            NDArray ids = f.io("input.input_ids", m);
            NDArray mask = f.io("input.attention_mask", m);
            NDArray labels = f.io("input.labels", m);
            NDArray l32 = ref.forward(ref.embed(ids), mask, null, null);
            NDArray l16 = half.forward(half.embed(ids), mask, null, null);
            assertThat(Torch.dtype(l16)).as("logits for the loss are fp32").isEqualTo(ScalarType.FLOAT32);
            // bf16 keeps ~3 significant digits; logits of these models are O(1)
            Compare.assertClose(name + " bf16 logits", l16, l32, 0.1, 0.05);
            NDArray loss32 = CausalLmLoss.mean(CausalLmLoss.sum(l32, labels));
            NDArray loss16 = CausalLmLoss.mean(CausalLmLoss.sum(l16, labels));
            assertThat(Math.abs(loss16.getFloat() - loss32.getFloat())).isLessThan(0.02f * Math.abs(loss32.getFloat()) + 0.01f);
            JniUtils.backward((PtNDArray) loss16, (PtNDArray) loss16.onesLike(), false, false);
            NDArray grad = half.weightTable().get("model.norm.weight").get().getGradient();
            assertThat(Torch.dtype(grad)).isEqualTo(ScalarType.BFLOAT16);
            float[] gv = Torch.toFloatArray(grad);
            for (float v : gv) {
                assertThat(Float.isFinite(v)).isTrue();
            }
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama3-tiny"})
    void bf16CachedGenerationRunsCloseToFp32(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = NDManager.newBaseManager()) {
            LlamaModel ref = LlmFixtureTest.build(f, m, ScalarType.FLOAT32);
            LlamaModel half = LlmFixtureTest.build(f, m, ScalarType.BFLOAT16);
            List<long[]> ps = GenerationTest.prompts(ref.vocabSize(), 4, 7);
            GenerationConfig cfg = GenerationConfig.greedy(6, Set.of(), 0).withRecordLogits(true);
            GenerationResult r16 = Generator.generate(half, ps, cfg, null);
            GenerationResult r32 = Generator.generate(ref, ps, cfg, null);
            assertThat(r16.tokens().get(0)).hasSize(6);
            for (int r = 0; r < ps.size(); r++) {
                Compare.assertClose(name + " bf16 first-step logits row " + r, r16.stepLogits().get(0)[r],
                        r32.stepLogits().get(0)[r], new long[] {ref.vocabSize()}, 0.1, 0.05);
            }
        }
    }
}
