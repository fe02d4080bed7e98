package dev.merv.encoders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonParser;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.nn.RandomInit;
import dev.merv.core.torch.Torch;
import dev.merv.encoders.timm.TimmVitConfig;
import dev.merv.encoders.transform.ResizeNaiveTransform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Inputs of height != width where the reference's model takes them (Hiera's {@code input_size [T, H, W]}, timm's
 * {@code img_size (H, W)}), through the registry: the transform, the input the encoder checks and the token grid it
 * reports; and the families whose model is square (LanguageBind, ViViT) refusing them, naming the shape. The
 * values of non-square Hiera features are checked by the encoder fixtures of fixture sets that have one.
 */
class NonSquareInputTest {

    @ParameterizedTest(name = "hiera {0}x{1}")
    @CsvSource({"64, 96, 2, 3", "96, 64, 3, 2"})
    void hieraTakesAnyInputItsStridesDivide(int h, int w, int rows, int cols) {
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.noGrad()) {
            FrozenVideoEncoder enc = EncoderRegistry.create(Catalog.TINY_HIERA, EncoderRegistry.Options.defaults()
                    .withImageSize(h, w));
            assertThat(enc.imageHeight()).isEqualTo(h);
            assertThat(enc.imageWidth()).isEqualTo(w);
            assertThat(enc.transform().height()).isEqualTo(h);
            assertThat(enc.transform().width()).isEqualTo(w);
            assertThat(enc.transform()).isInstanceOf(ResizeNaiveTransform.class);
            // patch stride 4, three 2x poolings: the last stage's grid is (h / 32) x (w / 32) per temporal slot
            assertThat(enc.spatialResolution()).isEqualTo(rows * cols);
            RandomInit.initialize(enc.module(), 1, m);
            int frames = enc.numFrames();
            NDArray out = enc.encode(m.randomNormal(new Shape(2, frames, 3, h, w)));
            assertThat(out.getShape().getShape()).containsExactly(2, enc.temporalResolution(), rows * cols, enc.embedDim());
            assertThatThrownBy(() -> enc.encode(m.randomNormal(new Shape(2, frames, 3, w, h))))
                    .hasMessageContaining("H=" + h + ", W=" + w);
        }
    }

    @Test
    void timmTakesImgSizeAsIntOrHeightWidth() {
        TimmVitConfig c = TimmVitConfig.fromJson(JsonParser.parseString("{\"img_size\": [28, 42], \"patch_size\": 14,"
                + " \"embed_dim\": 8, \"depth\": 2, \"num_heads\": 2}").getAsJsonObject(), "cfg");
        assertThat(c.gridHeight()).isEqualTo(2);
        assertThat(c.gridWidth()).isEqualTo(3);
        assertThat(c.numPatches()).isEqualTo(6);
        assertThat(c.imgSizeText()).isEqualTo("(28, 42)");
        TimmVitConfig sq = TimmVitConfig.fromJson(JsonParser.parseString("{\"img_size\": 28, \"patch_size\": 14,"
                + " \"embed_dim\": 8, \"depth\": 2, \"num_heads\": 2}").getAsJsonObject(), "cfg");
        assertThat(sq.imgHeight()).isEqualTo(28);
        assertThat(sq.imgWidth()).isEqualTo(28);
        assertThatThrownBy(() -> TimmVitConfig.fromJson(JsonParser.parseString("{\"img_size\": [28], \"patch_size\": 14,"
                + " \"embed_dim\": 8, \"depth\": 2, \"num_heads\": 2}").getAsJsonObject(), "cfg.json"))
                .hasMessageContaining("cfg.json").hasMessageContaining("img_size");
        assertThatThrownBy(() -> c.withImgSize(28, 40)).hasMessageContaining("(28, 40)").hasMessageContaining("patch_size 14");
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.noGrad()) {
            FrozenVideoEncoder enc = EncoderRegistry.create(Catalog.TINY_SIGLIP, EncoderRegistry.Options.defaults()
                    .withImageSize(32, 48));
            assertThat(enc.spatialResolution()).isEqualTo(4 * 6);
            RandomInit.initialize(enc.module(), 2, m);
            NDArray out = enc.encode(m.randomNormal(new Shape(1, enc.numFrames(), 3, 32, 48)));
            assertThat(out.getShape().getShape()).containsExactly(1, enc.numFrames(), 24, enc.embedDim());
        }
    }

    @Test
    void squareOnlyFamiliesRefuseOtherShapesNamingThem() {
        for (String id : new String[] {Catalog.TINY_LANGUAGEBIND, Catalog.VIVIT}) {
            assertThatThrownBy(() -> EncoderRegistry.create(id, EncoderRegistry.Options.defaults().withImageSize(42, 56)))
                    .as(id).hasMessageContaining(id).hasMessageContaining("42x56").hasMessageContaining("square");
        }
        assertThatThrownBy(() -> EncoderRegistry.Options.defaults().withImageSize(42, 0)).hasMessageContaining("42x0");
    }
}
