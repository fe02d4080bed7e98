package dev.merv.core.projector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ArchSpecifier.HeadType;
import dev.merv.core.projector.ArchSpecifier.ResamplerType;
import dev.merv.core.torch.Torch;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ProjectorsTest {

    @Test
    void archSpecifierParsing() {
        ArchSpecifier a = ArchSpecifier.parse("no-align+3davg+linear");
        assertThat(a.noAlign()).isTrue();
        assertThat(a.resampler()).isEqualTo(ResamplerType.AVG3D);
        assertThat(a.head()).isEqualTo(HeadType.LINEAR);
        assertThat(a.frameFactor()).isEqualTo(1);
        assertThat(ArchSpecifier.parse("3davg+linear").noAlign()).isFalse();
        assertThat(ArchSpecifier.parse("no-align+3dconv+frame2+fused-gelu-mlp").frameFactor()).isEqualTo(2);
        assertThat(ArchSpecifier.parse("no-align+3dconv+frame2+fused-gelu-mlp").head()).isEqualTo(HeadType.FUSED_GELU_MLP);
        assertThat(ArchSpecifier.parse("avg+gelu-mlp").resampler()).isEqualTo(ResamplerType.AVG);
        assertThat(ArchSpecifier.parse("attntv+none").head()).isEqualTo(HeadType.NONE);
        assertThat(ArchSpecifier.parse("gelu-mlp").resampler()).isEqualTo(ResamplerType.NONE);
        // "avg" must be an exact element: "3davg" is not "avg"
        assertThat(ArchSpecifier.parse("no-align+3davg+gelu-mlp").resampler()).isEqualTo(ResamplerType.AVG3D);
        // frameN only affects the 3-D resamplers
        assertThat(ArchSpecifier.parse("avg+frame2+linear").frameFactor()).isEqualTo(1);
        assertThat(ArchSpecifier.parse("3davg+frame4+linear").outputFrames(16)).isEqualTo(4);
        assertThatThrownBy(() -> ArchSpecifier.parse("3davg+mlp")).hasMessageContaining("model.arch_specifier");
        assertThatThrownBy(() -> ArchSpecifier.parse("3davg+frame+linear")).hasMessageContaining("frame");
        assertThatThrownBy(() -> ArchSpecifier.outputSize(15)).hasMessageContaining("9 or 16");
        // merv-base: 16 slots x 8x8 = 1024; TRAINING.md Hiera: 16 slots of 7x7 pooled to 4x4 = 256
        assertThat(a.outputLength(16, 196, 64)).isEqualTo(1024);
        assertThat(a.outputLength(16, 49, 16)).isEqualTo(256);
        assertThat(ArchSpecifier.parse("gelu-mlp").outputLength(16, 196, 64)).isEqualTo(3136);
    }

    @Test
    void adaptiveBinsOverlapAsPyTorch() {
        int[][] expected = {{0, 2}, {1, 4}, {3, 6}, {5, 7}, {7, 9}, {8, 11}, {10, 13}, {12, 14}};
        for (int i = 0; i < 8; i++) {
            assertThat(AdaptivePool.bin(i, 14, 8)).containsExactly(expected[i]);
        }
        assertThat(AdaptivePool.bin(1, 7, 4)).containsExactly(1, 4);
        try (NDManager m = NDManager.newBaseManager()) {
            // 3-D pool of a [1, 1, 3, 7, 7] ramp to (2, 4, 4) against box means over the documented bins
            float[] v = new float[3 * 49];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) Math.sin(i * 0.37) + i * 0.01f;
            }
            NDArray x = m.create(v, new Shape(1, 1, 3, 7, 7));
            float[] got = AdaptivePool.avg(x, 2, 4, 4).toFloatArray();
            int k = 0;
            for (int f = 0; f < 2; f++) {
                int[] bf = AdaptivePool.bin(f, 3, 2);
                for (int h = 0; h < 4; h++) {
                    int[] bh = AdaptivePool.bin(h, 7, 4);
                    for (int w = 0; w < 4; w++) {
                        int[] bw = AdaptivePool.bin(w, 7, 4);
                        double s = 0;
                        int n = 0;
                        for (int a = bf[0]; a < bf[1]; a++) {
                            for (int b = bh[0]; b < bh[1]; b++) {
                                for (int c = bw[0]; c < bw[1]; c++) {
                                    s += v[a * 49 + b * 7 + c];
                                    n++;
                                }
                            }
                        }
                        assertThat((double) got[k++]).isCloseTo(s / n, org.assertj.core.data.Offset.offset(1e-5));
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "no-align+3davg+linear, 8, projector.projector.weight;projector.projector.bias",
        "3davg+frame2+gelu-mlp, 4, projector.projector.0.weight;projector.projector.2.bias",
        "avg+fused-gelu-mlp, 8, projector.projector.0.weight;projector.projector.2.weight;projector.projector.4.bias",
        "no-align+3dconv+linear, 8, convolution_pooling.0.weight;convolution_pooling.0.bias;projector.projector.weight",
        "3dconv+none, 8, convolution_pooling.0.weight",
        "attntv+linear, 8, query_tokens;cross_attn.norm1.weight;cross_attn.xattn.q.weight;cross_attn.xattn.kv.bias;"
                + "cross_attn.xattn.proj.weight;cross_attn.norm2.bias;cross_attn.mlp.fc1.weight;cross_attn.mlp.fc2.bias;"
                + "projector.projector.weight",
        "conv+linear, 8, convolution_pooling.0.b1.conv1.conv.weight;convolution_pooling.0.b1.conv1.bn.weight;"
                + "convolution_pooling.0.b1.conv2.conv.weight;convolution_pooling.0.b1.se.fc1.weight;"
                + "convolution_pooling.0.b1.se.fc2.bias;convolution_pooling.0.b1.conv3.bn.bias;"
                + "convolution_pooling.0.b1.downsample.conv.weight;convolution_pooling.0.b3.conv3.conv.weight;"
                + "convolution_pooling.2.b2.se.fc1.bias;projector.projector.weight",
        "linear, 18, projector.weight;projector.bias",
        "gelu-mlp, 18, projector.0.weight;projector.2.weight"
    })
    void everyResamplerAndHeadShapesNamesAndGradients(String arch, int expectedLength, String names) {
        int c = 16;
        int d = 24;
        int t = 2;
        int s = 9;
        ArchSpecifier a = ArchSpecifier.parse(arch);
        Projector p = Projectors.build(a, c, t, s, d, 4);
        assertThat(p.outputLength()).isEqualTo(expectedLength);
        Map<String, Param> params = p.namedParameters();
        assertThat(params.keySet()).contains(names.split(";"));
        if (a.resampler() == ResamplerType.CONV) {
            assertThat(params.keySet()).doesNotContain("convolution_pooling.0.b2.downsample.conv.weight",
                    "convolution_pooling.2.b1.downsample.conv.weight");
            assertThat(params.get("convolution_pooling.0.b1.conv2.conv.weight").shape()).isEqualTo(new Shape(d, 1, 3, 3));
            assertThat(params.get("convolution_pooling.0.b1.se.fc1.weight").shape()).isEqualTo(new Shape(c / 4, d, 1, 1));
        }
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.withGrad()) {
            p.initialize(ReferenceInit.seeded(c), m);
            NDArray x = m.randomNormal(new Shape(3, t, s, c));
            x.setRequiresGradient(true);
            NDArray out = p.forward(x);
            assertThat(out.getShape()).isEqualTo(new Shape(3, expectedLength, d));
            NDArray loss = out.mul(out).sum();
            JniUtils.backward((PtNDArray) loss, (PtNDArray) m.ones(new Shape()), false, false);
            assertThat(x.getGradient().abs().sum().getFloat()).isPositive();
            for (Map.Entry<String, Param> e : params.entrySet()) {
                assertThat(e.getValue().get().getGradient().abs().sum().getFloat()).as("grad of " + e.getKey()).isPositive();
            }
        }
    }

    @Test
    void threeDAvgMatchesBoxMeansThenLinear() {
        try (NDManager m = NDManager.newBaseManager()) {
            Projector p = Projectors.build(ArchSpecifier.parse("3davg+frame2+none"), 8, 4, 16, 8, 4);
            p.initialize(ReferenceInit.seeded(8), m);
            NDArray x = m.randomNormal(new Shape(1, 4, 16, 8));
            float[] v = x.toFloatArray();
            float[] out = p.forward(x).toFloatArray(); // [1, 2*4, 8]: frames pooled 4 -> 2, grid 4x4 -> 2x2
            for (int f = 0; f < 2; f++) {
                for (int h = 0; h < 2; h++) {
                    for (int w = 0; w < 2; w++) {
                        for (int ch = 0; ch < 8; ch++) {
                            double s = 0;
                            for (int a = 2 * f; a < 2 * f + 2; a++) {
                                for (int b = 2 * h; b < 2 * h + 2; b++) {
                                    for (int cc = 2 * w; cc < 2 * w + 2; cc++) {
                                        s += v[((a * 16) + b * 4 + cc) * 8 + ch];
                                    }
                                }
                            }
                            int tok = f * 4 + h * 2 + w;
                            assertThat((double) out[tok * 8 + ch]).isCloseTo(s / 8, org.assertj.core.data.Offset.offset(1e-5));
                        }
                    }
                }
            }
        }
    }

    @Test
    void invalidCombinationsFailClearly() {
        assertThatThrownBy(() -> Projectors.build(ArchSpecifier.parse("3davg+none"), 16, 2, 9, 24, 4))
                .hasMessageContaining("none").hasMessageContaining("24");
        // einops reads 10 tokens as floor(sqrt(10)) = 3 rows, which do not divide 10
        for (String arch : new String[] {"3davg+linear", "avg+linear", "conv+linear", "3dconv+linear"}) {
            assertThatThrownBy(() -> Projectors.build(ArchSpecifier.parse(arch), 16, 2, 10, 24, 4)).as(arch)
                    .hasMessageContaining("10 tokens").hasMessageContaining("einops");
        }
        assertThatThrownBy(() -> Projectors.build(ArchSpecifier.parse("attntv+linear"), 12, 2, 9, 24, 4))
                .hasMessageContaining("divisible by 8");
        Projector p = Projectors.build(ArchSpecifier.parse("3davg+linear"), 16, 2, 9, 24, 4);
        try (NDManager m = NDManager.newBaseManager()) {
            assertThatThrownBy(() -> p.forward(m.zeros(new Shape(1, 2, 16, 16)))).hasMessageContaining("[B, 2, 9, 16]");
        }
    }

    /**
     * A non-square token count is read as the reference's einops reads it: {@code H = floor(sqrt(N))} rows of
     * {@code N / H} columns, row-major, whatever grid the encoder had; the pool then runs over that reading.
     * Expected values: box means over PyTorch's adaptive bins, written out here.
     */
    @ParameterizedTest(name = "N={0} read as {1}x{2}, pooled to {3}x{3}")
    @CsvSource({"6, 2, 3, 2", "3, 1, 3, 2", "8, 2, 4, 1", "12, 3, 4, 3", "20, 4, 5, 2"})
    void nonSquareTokenCountsAreReadAsEinopsReadsThem(int n, int rows, int cols, int s) {
        assertThat(TokenGrid.of(n)).isEqualTo(new TokenGrid(rows, cols));
        int t = 2;
        int c = 3;
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode g = Torch.noGrad()) {
            Projector p = Projectors.build(ArchSpecifier.parse("3davg+linear"), c, t, n, c, s * s);
            // identity head: the output is the pooled tokens
            float[] eye = new float[c * c];
            for (int i = 0; i < c; i++) {
                eye[i * c + i] = 1;
            }
            Map<String, Param> params = p.namedParameters();
            params.get("projector.projector.weight").set(m.create(eye, new Shape(c, c)));
            params.get("projector.projector.bias").set(m.zeros(new Shape(c)));
            float[] x = new float[t * n * c];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.sin(0.7 * i + 0.3);
            }
            float[] got = p.forward(m.create(x, new Shape(1, t, n, c))).toFloatArray();
            assertThat(got).hasSize(t * s * s * c);
            for (int ti = 0; ti < t; ti++) {
                for (int oy = 0; oy < s; oy++) {
                    int y0 = Math.floorDiv(oy * rows, s);
                    int y1 = -Math.floorDiv(-(oy + 1) * rows, s);
                    for (int ox = 0; ox < s; ox++) {
                        int x0 = Math.floorDiv(ox * cols, s);
                        int x1 = -Math.floorDiv(-(ox + 1) * cols, s);
                        for (int ch = 0; ch < c; ch++) {
                            double sum = 0;
                            for (int y = y0; y < y1; y++) {
                                for (int xx = x0; xx < x1; xx++) {
                                    sum += x[(ti * n + y * cols + xx) * c + ch];
                                }
                            }
                            double want = sum / ((y1 - y0) * (x1 - x0));
                            assertThat((double) got[((ti * s + oy) * s + ox) * c + ch]).as("slot %d cell (%d,%d) ch %d", ti, oy,
                                    ox, ch).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6));
                        }
                    }
                }
            }
        }
    }

    @Test
    void referenceInitDistributionsAndDeterminism() {
        try (NDManager m = NDManager.newBaseManager()) {
            Projector a = Projectors.build(ArchSpecifier.parse("3davg+gelu-mlp"), 64, 2, 9, 32, 4);
            Projector b = Projectors.build(ArchSpecifier.parse("3davg+gelu-mlp"), 64, 2, 9, 32, 4);
            a.initialize(ReferenceInit.seeded(1024), m);
            b.initialize(ReferenceInit.seeded(1024), m);
            for (String n : Set.of("projector.projector.0.weight", "projector.projector.2.bias")) {
                assertThat(a.namedParameters().get(n).get().toFloatArray())
                        .containsExactly(b.namedParameters().get(n).get().toFloatArray());
            }
            float[] w0 = a.namedParameters().get("projector.projector.0.weight").get().toFloatArray();
            double bound = 1 / Math.sqrt(64);
            double mean = 0;
            for (float f : w0) {
                assertThat(Math.abs(f)).isLessThanOrEqualTo((float) bound);
                mean += f;
            }
            assertThat(mean / w0.length).isCloseTo(0, org.assertj.core.data.Offset.offset(0.01));
            Projector att = Projectors.build(ArchSpecifier.parse("attntv+linear"), 16, 2, 9, 24, 4);
            att.initialize(ReferenceInit.seeded(16), m);
            float[] q = att.namedParameters().get("query_tokens").get().toFloatArray();
            double var = 0;
            for (float f : q) {
                var += f * f;
            }
            assertThat(Math.sqrt(var / q.length)).isBetween(0.01, 0.03);
            assertThat(att.namedParameters().get("cross_attn.xattn.q.bias").get().toFloatArray()).containsOnly(0f);
        }
    }
}
