package dev.merv.encoders.languagebind;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.Torch;
import dev.merv.encoders.EncoderRegistry;
import org.junit.jupiter.api.Test;

/**
 * W2: parity groups of {@code num_frames} by default; the whole-clip option with an interpolated temporal
 * embedding. Every size comes from the {@code languagebind-video-tiny} fixture; the clips with more than one
 * group are the fixture's clip followed by itself time-reversed, so the test does not depend on how many groups
 * the fixture's own clip has.
 */
class TemporalGroupingTest {

    @Test
    void wholeClipOptionTakesOtherCountsAndMixesAcrossGroups() {
        try (Fixture fx = Fixture.open("languagebind-video-tiny"); NDManager m = NDManager.newBaseManager();
                Torch.GradMode g = Torch.noGrad()) {
            LanguageBindConfig c = LanguageBindConfig.fromJson(fx.config(), fx.name());
            int frames = fx.config().get("video_frames").getAsInt();
            FrameTransform tr = EncoderRegistry.transform(Catalog.LANGUAGEBIND, EncoderRegistry.Options.defaults()
                    .withImageSize(c.imageSize()).withFlip(LanguageBindTransform.Flip.NEVER));
            NDArray x = fx.ioFloat("input.video_values", m);
            NDArray parityOut = fx.ioFloat("output.video_features", m);
            Fixture.Tolerance tol = fx.tolerance("output.video_features");

            // the fixture's clip and its mirror in time: at least two groups of num_frames, different content
            NDArray twice = NDArrays.concat(new NDList(x, x.flip(2)), 2);
            int doubled = 2 * frames;
            LanguageBindEncoder parity = new LanguageBindEncoder(Catalog.LANGUAGEBIND, c, doubled, tr);
            parity.loadWeights(fx.model(), "featurizer.", m, null);
            LanguageBindEncoder whole = new LanguageBindEncoder(Catalog.LANGUAGEBIND, c, doubled, tr,
                    LanguageBindEncoder.TemporalGrouping.WHOLE_CLIP_INTERPOLATED);
            whole.loadWeights(fx.model(), "featurizer.", m, null);
            NDArray p = parity.encode(twice);
            NDArray w = whole.encode(twice);

            // parity groups never look across a group boundary: the first half is the fixture's own output
            NDArray firstHalf = p.get(":, :" + frames + ", :, :");
            Compare.assertClose(fx.name() + " parity groups, first " + frames + " frames", firstHalf,
                    parityOut.reshape(firstHalf.getShape()), tol.atol(), tol.rtol());
            // the whole clip attends across it, so its features differ from the groups'
            float[] a = Torch.toFloatArray(w);
            float[] b = Torch.toFloatArray(p);
            double diff = 0;
            for (int i = 0; i < a.length; i++) {
                assertTrue(Float.isFinite(a[i]));
                diff = Math.max(diff, Math.abs(a[i] - b[i]));
            }
            assertTrue(diff > 100 * tol.atol(), "whole-clip attention must differ from the parity groups, max diff " + diff);

            // one group: nothing to mix, the whole clip is the parity computation
            LanguageBindEncoder oneGroup = new LanguageBindEncoder(Catalog.LANGUAGEBIND, c, c.numFrames(), tr,
                    LanguageBindEncoder.TemporalGrouping.WHOLE_CLIP_INTERPOLATED);
            oneGroup.loadWeights(fx.model(), "featurizer.", m, null);
            NDArray group0 = x.get(":, :, :" + c.numFrames() + ", :, :");
            NDArray one = oneGroup.encode(group0);
            NDArray parityGroup0 = parityOut.reshape(x.getShape().get(0), frames, c.numPatches(), c.hiddenSize())
                    .get(":, :" + c.numFrames() + ", :, :");
            Compare.assertClose(fx.name() + " whole clip of one group", one, parityGroup0, tol.atol(), tol.rtol());

            // a count parity rejects (not a multiple of num_frames) is fine for the option
            int odd = c.numFrames() + 1;
            if (c.numFrames() > 1) {
                assertThrows(IllegalArgumentException.class, () -> new LanguageBindEncoder(Catalog.LANGUAGEBIND, c, odd, tr));
            }
            LanguageBindEncoder oddEnc = new LanguageBindEncoder(Catalog.LANGUAGEBIND, c, odd, tr,
                    LanguageBindEncoder.TemporalGrouping.WHOLE_CLIP_INTERPOLATED);
            oddEnc.loadWeights(fx.model(), "featurizer.", m, null);
            NDArray y = oddEnc.encode(m.randomNormal(new Shape(1, 3, odd, c.imageSize(), c.imageSize())));
            assertArrayEquals(new long[] {1, odd, c.numPatches(), c.hiddenSize()}, y.getShape().getShape());
        }
    }
}
