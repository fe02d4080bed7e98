package dev.merv.build;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.torch.ScalarType;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.train.TinySetup;
import org.junit.jupiter.api.Test;

/**
 * Building models from Java: presets by name, custom compositions from typed pieces compiling to the same
 * configuration the reference's flags give, with derived visual length and validation before any weight.
 */
class MervBuilderTest {

    @Test
    void aPresetBuildsFromItsBackboneDirectories() {
        TinySetup tiny = TinySetup.get();
        try (NDManager m = NDManager.newBaseManager()) {
            Merv merv = MervBuilder.preset(ModelRegistry.MERV_TINY).weightsRoot(tiny.weightsDir()).precision(Precision.BF16)
                    .build(m);
            assertThat(merv.config()).isEqualTo(ModelRegistry.get(ModelRegistry.MERV_TINY));
            assertThat(merv.encoders()).hasSize(4);
            for (VideoEncoder e : merv.encoders()) {
                assertThat(((FrozenVideoEncoder) e).dtype()).as(e.id()).isEqualTo(ScalarType.BFLOAT16);
            }
            assertThat(merv.llm().id()).isEqualTo(Catalog.TINY_LLAMA2);
        }
    }

    @Test
    void aCustomCompositionIsTheConfigurationItsPiecesDescribe() {
        TinySetup tiny = TinySetup.get();
        ModelConfig c = MervBuilder.custom("my-merv")
                .encoders(MervBuilder.Encoder.of(Catalog.TINY_SIGLIP, 2), MervBuilder.Encoder.of(Catalog.TINY_DINOV2, 2))
                .projector("3davg", "gelu-mlp", 1)
                .fusion("cross_attention_avg_lq", 16)
                .llm(Catalog.TINY_LLAMA2)
                .config();
        assertThat(c.modelId()).isEqualTo("my-merv");
        assertThat(c.videoBackboneIds()).containsExactly(Catalog.TINY_SIGLIP, Catalog.TINY_DINOV2);
        assertThat(c.numFrames()).containsExactly(2, 2);
        assertThat(c.archSpecifier()).isEqualTo("no-align+3davg+gelu-mlp");
        assertThat(c.projectorTokenLength()).isEqualTo(1);
        // tiny SigLIP: 2 frames -> 2 temporal slots, pooled to 1 token each
        int slots = Catalog.encoder(Catalog.TINY_SIGLIP).geometry().temporalResolution(2);
        assertThat(c.visualFeatureLength()).isEqualTo(slots);
        assertThat(c.fusionEmbedDim()).isEqualTo(16);
        assertThat(MervBuilder.custom("x").twoStage(true).config().archSpecifier()).isEqualTo("3davg+linear");

        // SigLIP at 2 frames and DINOv2 at 4 give different token counts: refused naming the field
        try (NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> MervBuilder.custom("bad")
                    .encoders(MervBuilder.Encoder.of(Catalog.TINY_SIGLIP, 2), MervBuilder.Encoder.of(Catalog.TINY_DINOV2, 4))
                    .projector("3davg", "linear", 4).set("visual_feature_length", "3").llm(Catalog.TINY_LLAMA2)
                    .weightsRoot(tiny.weightsDir()).build(m))
                    .hasMessageContaining("visual_feature_length");
        }
        // pieces build: the custom model runs its encoders from the tiny directories
        try (NDManager m = NDManager.newBaseManager()) {
            Merv merv = MervBuilder.custom("tiny-pair")
                    .encoders(MervBuilder.Encoder.of(Catalog.TINY_SIGLIP, 2), MervBuilder.Encoder.of(Catalog.TINY_LANGUAGEBIND, 2))
                    .projector("3davg", "linear", 4).fusion("cross_attention_avg_lq", 8).llm(Catalog.TINY_LLAMA2)
                    .weightsRoot(tiny.weightsDir()).build(m);
            assertThat(merv.visualLength()).isEqualTo(merv.projectors().get(0).outputLength());
            assertThat(merv.projectors().get(1).outputLength()).isEqualTo(merv.visualLength());
        }
    }

    @Test
    void missingWeightsAreNamedBeforeAnythingLoads(@org.junit.jupiter.api.io.TempDir java.nio.file.Path empty) {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> MervBuilder.preset(ModelRegistry.MERV_TINY).weightsRoot(empty).build(m))
                    .hasMessageContaining("weights for backbone").hasMessageContaining(empty.toString());
        }
    }
}
