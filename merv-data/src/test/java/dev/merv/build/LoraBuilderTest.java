package dev.merv.build;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.llm.lora.Lora;
import dev.merv.train.TinySetup;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link MervBuilder#lora}: fresh adapters on the chosen layers of the LLM, in the precision's dtype for inference,
 * and a model that computes bitwise what the same model without them computes (PEFT's init: B = 0), in bf16.
 */
class LoraBuilderTest {

    @Test
    void freshAdaptersInBf16ChangeNothing() {
        TinySetup tiny = TinySetup.get();
        try (NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            Merv plain = MervBuilder.preset(ModelRegistry.MERV_TINY).weightsRoot(tiny.weightsDir()).precision(Precision.BF16)
                    .build(m);
            Merv adapted = MervBuilder.preset(ModelRegistry.MERV_TINY).weightsRoot(tiny.weightsDir()).precision(Precision.BF16)
                    .lora(LoraConfig.of(4, 8).withTargets(List.of("q_proj", "v_proj", "down_proj"))).build(m);
            Lora lora = Lora.of((LlamaModel) adapted.llm());
            assertThat(lora).isNotNull();
            assertThat(lora.modulePaths()).hasSize(3 * adapted.llm().numLayers())
                    .allMatch(p -> p.endsWith("q_proj") || p.endsWith("v_proj") || p.endsWith("down_proj"));
            assertThat(lora.parameters().values()).allSatisfy(p -> assertThat(p.dtype()).isEqualTo(ScalarType.BFLOAT16));
            assertThat(Lora.of((LlamaModel) plain.llm())).isNull();

            long[] ids = {1, 5, 9, 13, 17, 21, 25, 29};
            NDArray in = m.create(ids, new ai.djl.ndarray.types.Shape(1, ids.length));
            float[] a = Torch.toFloatArray(plain.llm().forward(plain.llm().embed(in), null, null, null));
            float[] b = Torch.toFloatArray(adapted.llm().forward(adapted.llm().embed(in), null, null, null));
            assertThat(b.length).isEqualTo(a.length);
            for (int i = 0; i < a.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i])) {
                    throw new AssertionError("logit " + i + ": " + b[i] + " with fresh adapters, " + a[i] + " without");
                }
            }
        }
    }
}
