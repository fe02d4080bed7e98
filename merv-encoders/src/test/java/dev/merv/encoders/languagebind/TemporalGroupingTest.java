package dev.merv.encoders.languagebind;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.Torch;
import dev.merv.encoders.EncoderRegistry;
import org.junit.jupiter.api.Test;

/** W2: parity groups of {@code num_frames} by default; the whole-clip option with an interpolated temporal embedding. */
class TemporalGroupingTest {

    @Test
    void wholeClipOptionTakesOtherCountsAndMixesAcrossGroups() {
        try (Fixture fx = Fixture.open("languagebind-video-tiny"); NDManager m = NDManager.newBaseManager();
                Torch.GradMode g = Torch.noGrad()) {
            LanguageBindConfig c = LanguageBindConfig.fromJson(fx.config(), fx.name());
            int frames = fx.config().get("video_frames").getAsInt();
            FrameTransform tr = EncoderRegistry.transform(Catalog.LANGUAGEBIND, EncoderRegistry.Options.defaults()
                    .withImageSize(c.imageSize()).withFlip(LanguageBindTransform.Flip.NEVER));
            LanguageBindEncoder whole = new LanguageBindEncoder("languagebind-video-noclass", c, frames, tr,
                    LanguageBindEncoder.TemporalGrouping.WHOLE_CLIP_INTERPOLATED);
            whole.loadWeights(fx.model(), "featurizer.", m, null);
            NDArray x = fx.ioFloat("input.video_values", m);
            NDArray out = whole.encode(x);
            NDArray parity = fx.ioFloat("output.video_features", m);
            float[] a = Torch.toFloatArray(out);
            float[] b = parity.toFloatArray();
            double diff = 0;
            for (int i = 0; i < a.length; i++) {
                assertTrue(Float.isFinite(a[i]));
                diff = Math.max(diff, Math.abs(a[i] - b[i]));
            }
            assertTrue(diff > 1e-3, "whole-clip attention must differ from the parity groups, max diff " + diff);

            // a count parity rejects (not a multiple of num_frames) is fine for the option
            int odd = c.numFrames() + 2;
            assertThrows(IllegalArgumentException.class, () -> new LanguageBindEncoder("languagebind-video-noclass", c, odd, tr));
            LanguageBindEncoder oddEnc = new LanguageBindEncoder("languagebind-video-noclass", c, odd, tr,
                    LanguageBindEncoder.TemporalGrouping.WHOLE_CLIP_INTERPOLATED);
            oddEnc.loadWeights(fx.model(), "featurizer.", m, null);
            NDArray y = oddEnc.encode(m.randomNormal(new Shape(1, 3, odd, c.imageSize(), c.imageSize())));
            assertArrayEquals(new long[] {1, odd, c.numPatches(), c.hiddenSize()}, y.getShape().getShape());
        }
    }
}
