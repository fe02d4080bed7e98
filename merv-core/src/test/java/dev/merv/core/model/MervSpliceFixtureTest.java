package dev.merv.core.model;

import dev.merv.core.testing.standin.StandIns;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Fixture;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.WeightLoader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The part of {@code merv-forward-tiny} that merv-core owns, with the encoders replaced by the
 * fixture's own encoder outputs ({@code hidden.video_features_i}) and the LLM by its embedding table:
 * projected tokens, fusion, mixing weights, the spliced embeddings / mask / labels, and the loss from
 * the fixture's logits. The whole forward (real encoders and Llama, logits and gradients) is tested
 * where those modules are on the classpath.
 */
class MervSpliceFixtureTest {

    /** Returns the fixture's recorded encoder output for the fixture's pixels. */
    static final class RecordedEncoder extends StandIns.FixedLayoutEncoder {
        final Fixture f;
        final int index;

        RecordedEncoder(Fixture f, int index) {
            this(f, index, f.config());
        }

        private RecordedEncoder(Fixture f, int index, JsonObject cfg) {
            super(cfg.getAsJsonArray("video_backbone_ids").get(index).getAsString(),
                    cfg.getAsJsonArray("num_frames").get(index).getAsInt(),
                    cfg.getAsJsonArray("temporal_resolution").get(index).getAsInt(),
                    cfg.getAsJsonArray("spatial_resolution").get(index).getAsInt(),
                    cfg.getAsJsonArray("encoder_embed_dims").get(index).getAsInt());
            this.f = f;
            this.index = index;
        }

        @Override
        public NDArray encode(NDArray pixels) {
            NDArray expected = f.ioFloat("input.video_values_" + index, pixels.getManager());
            assertThat(pixels.getShape()).isEqualTo(expected.getShape());
            NDArray feats = f.ioFloat("hidden.video_features_" + index, pixels.getManager());
            return feats.reshape(feats.getShape().get(0), t, n, c);
        }

        @Override
        public Module module() {
            return null;
        }
    }

    /** The LLM's input embedding only ({@code model.embed_tokens.weight}). */
    static final class EmbeddingOnly implements LanguageModel {
        final Param embed;
        final Module module;

        EmbeddingOnly(int vocab, int dim) {
            module = new Module() {
                final Param p = param("embed_tokens_weight", vocab, dim);
            };
            embed = module.localParams().get("embed_tokens_weight");
        }

        @Override
        public NDArray embed(NDArray ids) {
            return Torch.embedding(embed.get(), ids);
        }

        @Override
        public int embedDim() {
            return (int) embed.shape().get(1);
        }

        @Override
        public int vocabSize() {
            return (int) embed.shape().get(0);
        }

        @Override
        public String id() {
            return "llama3-tiny";
        }

        @Override
        public int numLayers() {
            return 0;
        }

        @Override
        public LayerContext prepare(NDArray mask, NDArray positions, KvCache cache, int seqLen) {
            throw new UnsupportedOperationException();
        }

        @Override
        public NDArray layer(int index, NDArray hidden, LayerContext ctx) {
            throw new UnsupportedOperationException();
        }

        @Override
        public NDArray head(NDArray hidden) {
            throw new UnsupportedOperationException();
        }

        @Override
        public KvCache newCache(int batch, int maxLen) {
            throw new UnsupportedOperationException();
        }

        @Override
        public TextPipeline text() {
            return null;
        }

        @Override
        public Module module() {
            return module;
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"merv-forward-tiny"})
    void spliceAndLossMatchReference(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager(); var g = Torch.withGrad()) {
            JsonObject cfg = f.config();
            ModelConfig mc = f.mervBaseConfig();
            List<VideoEncoder> encoders = new ArrayList<>();
            for (int i = 0; i < mc.numEncoders(); i++) {
                encoders.add(new RecordedEncoder(f, i));
            }
            JsonObject llmCfg = cfg.getAsJsonObject("llm_backbone");
            EmbeddingOnly llm = new EmbeddingOnly(llmCfg.get("vocab_size").getAsInt(), llmCfg.get("hidden_size").getAsInt());
            Merv merv = new Merv(mc, encoders, llm, m, new Merv.Options().initialize(false).keepIntermediates(true)
                    .bosTokenLength(cfg.get("bos_token_length").getAsInt()));
            Map<String, Param> table = new LinkedHashMap<>();
            merv.module().namedParameters().forEach((k, v) -> {
                table.put(k.replace("embed_tokens_weight", "model.embed_tokens.weight"), v);
            });
            WeightLoader.Report report = WeightLoader.load(f.model(), table, m, ScalarType.FLOAT32, true,
                    n -> n.startsWith("video_backbones.") || (n.startsWith("llm_backbone.") && !n.contains("embed_tokens")));
            assertThat(report.loaded()).contains("projectors.0.projector.projector.weight", "feature_fusion.Q",
                    "feature_fusion.attention.k_proj_weight", "llm_backbone.llm.model.embed_tokens.weight");
            assertThat(merv.visualLength()).isEqualTo(cfg.get("visual_feature_length").getAsInt());

            NDManager bm = m.newSubManager();
            NDArray ids = f.io("input.input_ids", bm);
            int b = (int) ids.getShape().get(0);
            List<NDArray> pixels = new ArrayList<>();
            for (int i = 0; i < mc.numEncoders(); i++) {
                pixels.add(f.ioFloat("input.video_values_" + i, bm));
            }
            int[] all = java.util.stream.IntStream.range(0, b).toArray();
            try (MervBatch batch = new MervBatch(ids, f.io("input.attention_mask", bm), f.io("input.labels", bm), pixels,
                    all, new boolean[b], -1, bm)) {
                SplicedInputs in = merv.splice(batch);
                for (int i = 0; i < mc.numEncoders(); i++) {
                    f.assertMatches("hidden.projected_" + i, in.intermediates().get("projected_" + i));
                }
                f.assertMatches("hidden.fused", in.intermediates().get("fused"));
                f.assertMatches("hidden.mixer_weights", in.mixingWeights());
                f.assertMatches("hidden.multimodal_embeddings", in.embeddings());
                assertThat(in.attentionMask().toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray())
                        .containsExactly(f.io("hidden.multimodal_attention_mask", bm).toLongArray());
                assertThat(in.labels().toLongArray()).containsExactly(f.io("hidden.multimodal_labels", bm).toLongArray());
                f.assertMatches("output.loss", dev.merv.core.train.CausalLmLoss.mean(
                        dev.merv.core.train.CausalLmLoss.sum(f.ioFloat("output.logits", bm), in.labels())));
                float[] mw = merv.lastMixingWeights().values();
                assertThat(mw).containsExactly(f.ioFloat("hidden.mixer_weights", bm).toFloatArray(),
                        org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
    }
}
