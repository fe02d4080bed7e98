package dev.merv.encoders.transform;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.FrameTransformSpec;
import dev.merv.core.catalog.ResizeStrategy;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.testing.Compare;
import dev.merv.core.weights.SafeTensors;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code image_resize_strategy} {@code resize-crop} and {@code letterbox} against the reference's torchvision
 * pipelines on PIL images ({@code reference-values/resize-strategies.safetensors}, made by
 * {@code tools/reference-values/resize_strategies.py}), for each PIL-based encoder's catalog transform at a
 * 24 px side, on a landscape and a portrait frame; and the combinations the reference cannot run, refused.
 */
class ResizeStrategyTest {

    static final int SIDE = 24;

    static SafeTensors expected() {
        try {
            return SafeTensors.open(Path.of(ResizeStrategyTest.class.getResource(
                    "/reference-values/resize-strategies.safetensors").toURI()));
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static Frame frame(SafeTensors st, String name, NDManager m) {
        var a = st.load("input." + name, m, null);
        long[] s = a.getShape().getShape();
        return new Frame((int) s[1], (int) s[0], a.toByteArray());
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({
        "dinov2, resize-crop, landscape", "dinov2, resize-crop, portrait", "dinov2, letterbox, landscape",
        "dinov2, letterbox, portrait", "siglip, resize-crop, landscape", "siglip, letterbox, portrait",
        "vivit, resize-crop, landscape", "vivit, resize-crop, portrait", "vivit, letterbox, landscape",
        "vivit, letterbox, portrait", "hiera, resize-crop, landscape", "hiera, resize-crop, portrait"})
    void matchesTorchvision(String encoder, String strategy, String frame) {
        String id = switch (encoder) {
            case "dinov2" -> Catalog.DINOV2;
            case "siglip" -> Catalog.SIGLIP;
            case "vivit" -> Catalog.VIVIT;
            case "hiera" -> Catalog.HIERA;
            default -> throw new AssertionError(encoder);
        };
        try (NDManager m = NDManager.newBaseManager(); SafeTensors want = expected()) {
            FrameTransform t = EncoderRegistry.transform(id, EncoderRegistry.Options.defaults().withImageSize(SIDE)
                    .withResize(ResizeStrategy.parse(strategy)));
            assertThat(t).isInstanceOf(ResizeCropTransform.class);
            assertThat(((ResizeCropTransform) t).letterbox()).isEqualTo(strategy.equals("letterbox"));
            float[] got = t.apply(List.of(frame(want, frame, m)), null);
            String key = encoder + "." + strategy + "." + frame;
            float[] exp = want.load(key, m, null).toFloatArray();
            Compare.assertClose(key, got, exp, new long[] {3, SIDE, SIDE}, 1e-6, 0);
        }
    }

    /** The real catalog values: the evaluation resize before the 224 crop. */
    @Test
    void referenceShortSides() {
        assertThat(Catalog.encoder(Catalog.DINOV2).transform().cropResizeShortSide()).isEqualTo(224);
        assertThat(Catalog.encoder(Catalog.SIGLIP).transform().cropResizeShortSide()).isEqualTo(224);
        assertThat(Catalog.encoder(Catalog.VIVIT).transform().cropResizeShortSide()).isEqualTo(256);
        assertThat(Catalog.encoder(Catalog.HIERA).transform().cropResizeShortSide()).isEqualTo(256);
        assertThat(Catalog.encoder(Catalog.DINOV2).transform().letterboxFill()).containsExactly(123, 116, 103);
        assertThat(Catalog.encoder(Catalog.SIGLIP).transform().letterboxFill()).containsExactly(127, 127, 127);
    }

    @Test
    void whatTheReferenceCannotRunIsRefusedNamingTheField() {
        EncoderRegistry.Options o = EncoderRegistry.Options.defaults();
        assertThatThrownBy(() -> EncoderRegistry.transform(Catalog.HIERA, o.withResize(ResizeStrategy.LETTERBOX)))
                .hasMessageContaining("image_resize_strategy='letterbox'").hasMessageContaining("normalisation mean");
        assertThatThrownBy(() -> EncoderRegistry.create(Catalog.LANGUAGEBIND, o.withResize(ResizeStrategy.RESIZE_CROP)))
                .hasMessageContaining("image_resize_strategy='resize-crop'").hasMessageContaining("LanguageBind");
        assertThatThrownBy(() -> EncoderRegistry.transform(Catalog.HIERA, o.withImageSize(64, 96)
                .withResize(ResizeStrategy.RESIZE_CROP))).hasMessageContaining("64x96");
        assertThatThrownBy(() -> ResizeStrategy.parse("resize_naive")).hasMessageContaining("model.image_resize_strategy")
                .hasMessageContaining("resize-naive");
        FrameTransformSpec lb = Catalog.encoder(Catalog.LANGUAGEBIND).transform();
        assertThat(lb.unsupported(ResizeStrategy.RESIZE_NAIVE)).isNull();
    }

    /** The model config's strategy reaches every encoder the registry builds for it. */
    @Test
    void modelConfigStrategyReachesTheEncoders() {
        ModelConfig cfg = ModelRegistry.get("siglip-single").with("image_resize_strategy", "letterbox");
        FrozenVideoEncoder enc = EncoderRegistry.create(cfg.videoBackboneIds().get(0), EncoderRegistry.Options.of(cfg, 0));
        assertThat(enc.transform()).isInstanceOf(ResizeCropTransform.class);
        assertThat(((ResizeCropTransform) enc.transform()).letterbox()).isTrue();
        assertThat(((ResizeCropTransform) enc.transform()).shortSide()).isEqualTo(224);
        ModelConfig naive = ModelRegistry.get("siglip-single");
        assertThat(EncoderRegistry.create(naive.videoBackboneIds().get(0), EncoderRegistry.Options.of(naive, 0)).transform())
                .isInstanceOf(ResizeNaiveTransform.class);
        assertThat(EncoderRegistry.Options.of(naive, 0).flip()).isEqualTo(LanguageBindTransform.Flip.TRAINING);
    }
}
