package dev.merv.encoders.dinov2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.Torch;
import dev.merv.encoders.timm.TimmFrameEncoder;
import dev.merv.encoders.timm.TimmVitConfig;
import dev.merv.encoders.transform.Filter;
import dev.merv.encoders.transform.Resample;
import org.junit.jupiter.api.Test;

/**
 * DINOv2's checkpoint position grid resampled to another input grid at load (timm's
 * {@code resample_abs_pos_embed}: bicubic, antialiased). The kernel itself is PIL's, which the
 * video-frames fixture checks bit-exactly on the 8-bit path; here: the load path and the kernel's
 * invariants (constants stay constant, mirror symmetry, same size is the identity).
 */
class PosEmbedResampleTest {

    @Test
    void checkpointGridIsResampledToTheInputGrid() {
        try (Fixture fx = Fixture.open("dinov2-tiny"); NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.noGrad()) {
            TimmVitConfig c = Dinov2.config(fx.config(), fx.name());
            int bigger = c.imgHeight() + c.patchSize();
            TimmFrameEncoder enc = Dinov2.encoder("dinov2-video-all-tokens", c, bigger, bigger, 2, null);
            enc.loadWeights(fx.model(), "", m, null);
            int g1 = bigger / c.patchSize();
            NDArray pos = enc.vit().posEmbed().get();
            assertArrayEquals(new long[] {1, (long) g1 * g1, c.embedDim()}, pos.getShape().getShape());
            NDArray x = m.randomNormal(new ai.djl.ndarray.types.Shape(1, 2, 3, bigger, bigger));
            NDArray out = enc.encode(x);
            assertArrayEquals(new long[] {1, 2, (long) g1 * g1, c.embedDim()}, out.getShape().getShape());
        }
    }

    @Test
    void kernelInvariants() {
        int ch = 2;
        double[] constant = new double[ch * 37 * 37];
        java.util.Arrays.fill(constant, 0.25);
        double[] r = Resample.resizeFloat(constant, ch, 37, 37, 16, 16, Filter.BICUBIC);
        for (double v : r) {
            assertEquals(0.25, v, 1e-12);
        }
        double[] ramp = new double[5 * 5];
        double[] mirrored = new double[5 * 5];
        java.util.Random rnd = new java.util.Random(3);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 5; x++) {
                ramp[y * 5 + x] = rnd.nextGaussian();
            }
        }
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 5; x++) {
                mirrored[y * 5 + (4 - x)] = ramp[y * 5 + x];
            }
        }
        double[] a = Resample.resizeFloat(ramp, 1, 5, 5, 3, 3, Filter.BICUBIC);
        double[] b = Resample.resizeFloat(mirrored, 1, 5, 5, 3, 3, Filter.BICUBIC);
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 3; x++) {
                assertEquals(a[y * 3 + x], b[y * 3 + (2 - x)], 1e-12);
            }
        }
        assertArrayEquals(ramp, Resample.resizeFloat(ramp, 1, 5, 5, 5, 5, Filter.BICUBIC), 1e-12);
    }
}
