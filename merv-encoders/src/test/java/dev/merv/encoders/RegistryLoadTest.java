package dev.merv.encoders;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.catalog.EncoderEntry;
import dev.merv.core.catalog.EncoderFamily;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.testing.MapWeights;
import dev.merv.encoders.dinov2.PosEmbedResampleTest;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Loading each reference id from its hub checkpoint's layout (prefixes, unused heads and text
 * towers, DINOv2's 37x37 grid), at reduced width with synthetic weights: every tensor lands where
 * the name table says, cast to bf16 and frozen; a missing tensor fails naming it.
 */
class RegistryLoadTest {

    private static final int WIDTH = 16;

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"languagebind-video-noclass", "dinov2-video-all-tokens", "vivit-google-b-all-no-cls-16frames",
        "siglip-vit-b16-224px-all-no-cls", "hiera-base-plus-video"})
    void loadsHubLayout(String id) {
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.noGrad()) {
            EncoderEntry entry = EncoderRegistry.get(id);
            EncoderRegistry.Options o = EncoderRegistry.Options.defaults().withWidthDivisor(WIDTH);
            FrozenVideoEncoder template = EncoderRegistry.create(id, o);
            Map<String, NDArray> ckpt = new LinkedHashMap<>();
            for (Map.Entry<String, Param> e : template.module().namedParameters().entrySet()) {
                ckpt.put(entry.checkpointPrefix() + e.getKey(), m.randomNormal(0, 1, e.getValue().shape(), DataType.FLOAT32));
            }
            int d = template.embedDim();
            switch (entry.family()) {
                case LANGUAGEBIND -> {
                    ckpt.put("text_model.embeddings.token_embedding.weight", m.randomNormal(new Shape(10, d)));
                    ckpt.put("logit_scale", m.randomNormal(new Shape(1)));
                }
                case DINOV2 -> ckpt.put("pos_embed", PosEmbedResampleTest.source(m, 37 * 37, d));
                case VIVIT -> ckpt.put("classifier.weight", m.randomNormal(new Shape(400, d)));
                case SIGLIP -> {
                    ckpt.put(entry.checkpointPrefix() + "attn_pool.latent", m.randomNormal(new Shape(1, 1, d)));
                    ckpt.put("text.token_embedding.weight", m.randomNormal(new Shape(10, d)));
                }
                default -> { }
            }
            FrozenVideoEncoder enc = EncoderRegistry.load(id, o, new MapWeights(ckpt), null, m, ScalarType.BFLOAT16);
            assertEquals(ScalarType.BFLOAT16, enc.dtype());
            for (Map.Entry<String, Param> e : enc.module().namedParameters().entrySet()) {
                Param p = e.getValue();
                assertEquals(ScalarType.BFLOAT16, p.dtype(), e.getKey());
                assertFalse(p.trainable(), e.getKey());
                if (!(entry.family() == EncoderFamily.DINOV2 && e.getKey().equals("pos_embed"))) {
                    float[] want = Torch.toFloatArray(Torch.to(ckpt.get(entry.checkpointPrefix() + e.getKey()), ScalarType.BFLOAT16));
                    assertArrayEquals(want, Torch.toFloatArray(p.get()), e.getKey());
                }
            }
            if (entry.family() == EncoderFamily.DINOV2) {
                // the hub's 37x37 grid resampled to 224 px's 16x16 as timm does (torch's values, then bf16)
                NDArray pos = enc.module().namedParameters().get("pos_embed").get();
                assertArrayEquals(new long[] {1, 256, d}, pos.getShape().getShape());
                assertEquals(64, d, "the reference grid is stored for width 1024 / " + WIDTH);
                try (dev.merv.core.weights.SafeTensors want = PosEmbedResampleTest.expected()) {
                    Compare.assertClose("dinov2 pos_embed 37x37 -> 16x16", Torch.to(pos, ScalarType.FLOAT32),
                            want.load("g37_d64_to_16x16", m, null), 1e-6, 1.0 / 128);
                }
            }
            // a missing tensor is named
            String victim = ckpt.keySet().iterator().next();
            ckpt.remove(victim);
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                    () -> EncoderRegistry.load(id, o, new MapWeights(ckpt), null, m, null));
            assertTrue(ex.getMessage().contains(victim), ex.getMessage());
        }
    }

    /** A checkpoint directory with an HF config.json: the architecture comes from the file, not the preset. */
    @Test
    void buildsFromCheckpointConfigJson(@TempDir Path dir) throws IOException {
        try (Fixture fx = Fixture.open("vivit-tiny"); NDManager m = NDManager.newBaseManager()) {
            // a checkpoint directory: config.json + model.safetensors only
            Files.copy(fx.file("config.json"), dir.resolve("config.json"));
            Files.copy(fx.file("model.safetensors"), dir.resolve("model.safetensors"));
            int size = fx.config().get("image_size").getAsInt();
            int frames = fx.config().get("num_frames").getAsInt();
            FrozenVideoEncoder enc = EncoderRegistry.load("vivit-google-b-all-no-cls-16frames",
                    EncoderRegistry.Options.defaults().withImageSize(size).withFrames(frames), dir.toString(), "", m, null);
            assertEquals(fx.config().get("hidden_size").getAsInt(), enc.embedDim());
            NDArray out = enc.encode(fx.ioFloat("input.pixel_values", m));
            NDArray expected = fx.ioFloat("output.merv_features", m);
            fx.assertMatches("output.merv_features", out.reshape(expected.getShape()));
        }
    }
}
