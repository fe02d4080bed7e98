package dev.merv.build;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.MervOutput;
import dev.merv.core.model.SplicedInputs;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.WeightLoader;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.encoders.dinov2.Dinov2;
import dev.merv.encoders.hiera.HieraConfig;
import dev.merv.encoders.hiera.HieraEncoder;
import dev.merv.encoders.languagebind.LanguageBindConfig;
import dev.merv.encoders.languagebind.LanguageBindEncoder;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import dev.merv.encoders.siglip.Siglip;
import dev.merv.llm.DecoderConfigs;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The whole MERV training forward against {@code merv-forward-tiny}: the four real encoder families and
 * the Llama built from the fixture's {@code config.json}, every weight loaded from its
 * {@code model.safetensors} by MERV's own parameter paths, then {@link Merv#forward} with autograd on.
 * Checks every stage the fixture records (encoder features, projected tokens, fused tokens, mixing
 * weights, spliced embeddings / mask / labels), the logits, the loss and every gradient it lists.
 */
public class MervForwardFixtureTest {

    private static final String LLM_PREFIX = "llm_backbone.llm.";

    /** Builds encoder {@code index} of the fixture from its family config in {@code video_backbones}. */
    public static FrozenVideoEncoder encoder(Fixture f, int index) {
        JsonObject cfg = f.config();
        String id = cfg.getAsJsonArray("video_backbone_ids").get(index).getAsString();
        int frames = cfg.getAsJsonArray("num_frames").get(index).getAsInt();
        JsonObject families = cfg.getAsJsonObject("video_backbones");
        String family = families.keySet().stream().filter(id::startsWith).findFirst()
                .orElseThrow(() -> new AssertionError(f.name() + ": config.json video_backbones has no family for encoder "
                        + index + " '" + id + "' (families: " + families.keySet() + ")"));
        JsonObject fc = families.getAsJsonObject(family);
        String src = f.name() + "/config.json video_backbones." + family;
        switch (family) {
            case "languagebind": {
                LanguageBindConfig c = LanguageBindConfig.fromJson(fc, src);
                // pixels come already transformed; the transform only fixes the [B, 3, T, H, W] layout
                return new LanguageBindEncoder(id, c, frames, transform(id, c.imageSize(), c.imageSize()));
            }
            case "dinov2": {
                var c = Dinov2.config(fc, src);
                return Dinov2.encoder(id, c, c.imgHeight(), c.imgWidth(), frames, transform(id, c.imgHeight(), c.imgWidth()));
            }
            case "hiera": {
                HieraConfig c = HieraConfig.fromJson(fc, src);
                return new HieraEncoder(id, c, frames, transform(id, c.inputSize()[1], c.inputSize()[2]));
            }
            case "siglip": {
                var c = Siglip.config(fc, src);
                return Siglip.encoder(id, c, c.imgHeight(), c.imgWidth(), frames, transform(id, c.imgHeight(), c.imgWidth()));
            }
            default:
                throw new AssertionError(f.name() + ": unknown encoder family '" + family + "' in config.json video_backbones");
        }
    }

    /** {@code id}'s catalog transform at {@code height x width}, without LanguageBind's random flip. */
    private static FrameTransform transform(String id, int height, int width) {
        return EncoderRegistry.transform(id, EncoderRegistry.Options.defaults().withImageSize(height, width)
                .withFlip(LanguageBindTransform.Flip.NEVER));
    }

    /** Pipeline position of a {@code hidden.*} tensor: encoders, projectors, fusion, splice. */
    private static int stage(String hidden) {
        if (hidden.startsWith("hidden.video_features_")) {
            return 0;
        }
        if (hidden.startsWith("hidden.projected_")) {
            return 1;
        }
        return hidden.startsWith("hidden.multimodal_") ? 3 : 2;
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"merv-forward-tiny"})
    void wholeForwardMatchesReference(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager(); var g = Torch.withGrad()) {
            JsonObject cfg = f.config();
            ModelConfig mc = f.mervBaseConfig();
            int numEncoders = cfg.getAsJsonArray("video_backbone_ids").size();
            List<VideoEncoder> encoders = new ArrayList<>();
            for (int i = 0; i < numEncoders; i++) {
                FrozenVideoEncoder e = encoder(f, i);
                assertThat(e.temporalResolution()).as("%s encoder %d temporal_resolution", name, i)
                        .isEqualTo(cfg.getAsJsonArray("temporal_resolution").get(i).getAsInt());
                assertThat(e.spatialResolution()).as("%s encoder %d spatial_resolution", name, i)
                        .isEqualTo(cfg.getAsJsonArray("spatial_resolution").get(i).getAsInt());
                assertThat(e.embedDim()).as("%s encoder %d embed dim", name, i)
                        .isEqualTo(cfg.getAsJsonArray("encoder_embed_dims").get(i).getAsInt());
                // the family's own loader skips checkpoint names MERV never runs (heads, attention pools)
                e.loadWeights(f.model(), "video_backbones." + i + ".featurizer.", m, ScalarType.FLOAT32);
                encoders.add(e);
            }
            LlamaConfig lc = DecoderConfigs.parse(cfg.getAsJsonObject("llm_backbone"), name + "/config.json llm_backbone");
            LlamaModel llm = new LlamaModel(f.llmId(), lc, m);
            Merv merv = new Merv(mc, encoders, llm, m, new Merv.Options().initialize(false).keepIntermediates(true)
                    .bosTokenLength(cfg.get("bos_token_length").getAsInt()));

            // everything else by MERV's own paths, strict: the tree must name every non-encoder tensor
            Map<String, Param> all = merv.module().namedParameters();
            Map<String, Param> rest = new LinkedHashMap<>();
            all.forEach((k, v) -> {
                if (!k.startsWith("video_backbones.")) {
                    rest.put(k, v);
                }
            });
            WeightLoader.load(f.model(), WeightLoader.identity("", rest), m, ScalarType.FLOAT32, true,
                    n -> n.startsWith("video_backbones.")
                            || n.startsWith(LLM_PREFIX) && llm.ignorable(n.substring(LLM_PREFIX.length())));
            all.forEach((k, v) -> assertThat(v.isSet()).as("%s: parameter %s loaded", name, k).isTrue());
            merv.applyStage(Stage.FINETUNE);
            assertThat(merv.visualLength()).isEqualTo(cfg.get("visual_feature_length").getAsInt());

            try (NDManager bm = m.newSubManager()) {
                NDArray ids = f.io("input.input_ids", bm);
                int b = (int) ids.getShape().get(0);
                List<NDArray> pixels = new ArrayList<>();
                for (int i = 0; i < numEncoders; i++) {
                    pixels.add(f.ioFloat("input.video_values_" + i, bm));
                }
                NDArray mask = f.io("input.attention_mask", bm).toType(DataType.BOOLEAN, false);
                MervBatch batch = new MervBatch(ids, mask, f.io("input.labels", bm), pixels,
                        IntStream.range(0, b).toArray(), new boolean[b], -1, bm);
                MervOutput out = merv.forward(batch);
                SplicedInputs in = out.inputs();

                // stage by stage in pipeline order, so the first disagreement names the component
                List<String> checked = new ArrayList<>();
                List<String> hiddens = new ArrayList<>(f.metaList("hidden"));
                hiddens.sort(Comparator.comparingInt(MervForwardFixtureTest::stage));
                for (String hidden : hiddens) {
                    String key = hidden.substring("hidden.".length());
                    switch (key) {
                        case "mixer_weights" -> f.assertMatches(hidden, in.mixingWeights());
                        case "multimodal_embeddings" -> f.assertMatches(hidden, in.embeddings());
                        case "multimodal_attention_mask" -> assertThat(in.attentionMask().toType(DataType.INT64, false)
                                .toLongArray()).as("%s: %s", name, hidden).containsExactly(f.io(hidden, bm).toLongArray());
                        case "multimodal_labels" -> assertThat(in.labels().toType(DataType.INT64, false).toLongArray())
                                .as("%s: %s", name, hidden).containsExactly(f.io(hidden, bm).toLongArray());
                        default -> {
                            NDArray got = in.intermediates().get(key);
                            assertThat(got).as("%s: %s not kept by Merv", name, hidden).isNotNull();
                            try (NDManager cm = bm.newSubManager()) {
                                // encoder features are [B, T', N, C] here, [B, T'*N, C] in the fixture
                                NDArray expected = f.ioFloat(hidden, cm);
                                f.assertMatches(hidden, got.reshape(expected.getShape()));
                            }
                        }
                    }
                    checked.add(hidden);
                }
                assertThat(in.rowOrder()).containsExactly(IntStream.range(0, b).toArray());

                for (String output : f.metaList("outputs")) {
                    switch (output) {
                        case "output.logits" -> f.assertMatches(output, out.logits());
                        case "output.loss" -> f.assertMatches(output, out.loss());
                        default -> throw new AssertionError(name + ": output " + output + " not computed");
                    }
                    checked.add(output);
                }

                try (NDArray seed = bm.ones(out.loss().getShape())) {
                    JniUtils.backward((PtNDArray) out.loss(), (PtNDArray) seed, false, false);
                }
                List<String> grads = f.metaList("grads");
                assertThat(grads).as("%s: meta.json grads", name).isNotEmpty();
                for (String grad : grads) {
                    String path = grad.substring("grad.".length());
                    Param p = all.get(path);
                    assertThat(p).as("%s: %s names no MERV parameter", name, grad).isNotNull();
                    assertThat(p.trainable()).as("%s: %s is trainable in finetune", name, path).isTrue();
                    try (NDArray gr = p.get().getGradient()) {
                        f.assertMatches(grad, gr);
                    }
                    checked.add(grad);
                }
                assertThat(checked).as("%s: every hidden, output and grad tensor", name)
                        .contains("output.logits", "output.loss", "hidden.multimodal_embeddings");
                System.out.println(name + ": checked " + checked.size() + " tensors " + checked);
                // frozen encoders record no graph
                for (VideoEncoder e : encoders) {
                    e.module().namedParameters().forEach((k, v) -> assertThat(v.trainable())
                            .as("%s: encoder %s parameter %s frozen", name, e.id(), k).isFalse());
                }
            }
        }
    }
}
