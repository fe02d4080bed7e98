package dev.merv.encoders.dinov2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.testing.MapWeights;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import dev.merv.encoders.timm.TimmFrameEncoder;
import dev.merv.encoders.timm.TimmVitConfig;
import dev.merv.encoders.transform.Filter;
import dev.merv.encoders.transform.Resample;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A checkpoint's position grid resampled to the model's grid at load, against timm's {@code resample_abs_pos_embed}
 * (bicubic, antialiased) as torch 2.6 computes it ({@code reference-values/pos-embed.safetensors}, made by
 * {@code tools/reference-values/pos_embed.py} from the same integer-formula inputs as {@link #source}): shrinking,
 * growing, non-square and portrait target grids, a class token's position kept in front. Plus the load path with
 * the {@code dinov2-tiny} fixture's own checkpoint, and the kernel's invariants.
 */
public class PosEmbedResampleTest {

    /** The reference file of expected grids. */
    public static SafeTensors expected() {
        try {
            return SafeTensors.open(Path.of(PosEmbedResampleTest.class.getResource("/reference-values/pos-embed.safetensors")
                    .toURI()));
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** {@code [1, tokens, dim]}: value i = ((i * 7919) % 1009) / 1009 - 0.5 in double, then float (the script's). */
    public static NDArray source(NDManager m, int tokens, int dim) {
        float[] v = new float[tokens * dim];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((double) (((long) i * 7919) % 1009) / 1009.0 - 0.5);
        }
        return m.create(v, new Shape(1, tokens, dim));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"g5_d4_to_3x3, 0, 5, 4, 3, 3", "g5_d4_to_7x7, 0, 5, 4, 7, 7", "g5_d4_to_3x4, 0, 5, 4, 3, 4",
        "g5_d4_to_6x2, 0, 5, 4, 6, 2", "p1_g4_d3_to_2x5, 1, 4, 3, 2, 5"})
    void checkpointGridIsResampledAsTimm(String name, int prefix, int side, int dim, int rows, int cols) {
        int patch = 2;
        TimmVitConfig c = new TimmVitConfig(rows * patch, cols * patch, patch, dim, 2, dim % 2 == 0 ? 2 : 1, prefix == 1, 0,
                false, null, 2.0, 0, "token", 1e-6);
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.noGrad(); SafeTensors want = expected()) {
            TimmFrameEncoder enc = new TimmFrameEncoder("vit", c, 0, 1, null);
            MapWeights ckpt = MapWeights.empty();
            for (Map.Entry<String, Param> e : enc.vit().namedParameters().entrySet()) {
                ckpt.put(e.getKey(), m.zeros(e.getValue().shape(), DataType.FLOAT32));
            }
            ckpt.put("pos_embed", source(m, prefix + side * side, dim));
            enc.loadWeights(ckpt, "", m, null);
            NDArray pos = enc.vit().posEmbed().get();
            assertArrayEquals(new long[] {1, prefix + (long) rows * cols, dim}, pos.getShape().getShape());
            Compare.assertClose(name, pos, want.load(name, m, null), 1e-6, 1e-5);
        }
    }

    /** The load path end to end on a real fixture checkpoint: a grid one patch larger runs and keeps its shape. */
    @Test
    void fixtureCheckpointLoadsAtAnotherInputSize() {
        try (Fixture fx = Fixture.open("dinov2-tiny"); NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.noGrad()) {
            TimmVitConfig c = Dinov2.config(fx.config(), fx.name());
            int h = c.imgHeight() + c.patchSize();
            int w = c.imgWidth() + 2 * c.patchSize();
            TimmFrameEncoder enc = Dinov2.encoder("dinov2-video-all-tokens", c, h, w, 2, null);
            enc.loadWeights(fx.model(), "", m, null);
            long cells = (long) (h / c.patchSize()) * (w / c.patchSize());
            assertArrayEquals(new long[] {1, cells, c.embedDim()}, enc.vit().posEmbed().get().getShape().getShape());
            NDArray out = enc.encode(m.randomNormal(new Shape(1, 2, 3, h, w)));
            assertArrayEquals(new long[] {1, 2, cells, c.embedDim()}, out.getShape().getShape());
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
