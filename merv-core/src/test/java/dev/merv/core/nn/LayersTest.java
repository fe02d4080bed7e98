package dev.merv.core.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.testing.Compare;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The building blocks against their PyTorch / HF definitions written out here in double precision: Linear
 * ({@code x W^T + b}), LayerNorm (biased variance), RMSNorm (HF: fp32 variance, cast back, times weight), Embedding
 * (row lookup), SwiGLU ({@code down(silu(gate(x)) * up(x))}); half-precision inputs come back in their dtype.
 */
class LayersTest {

    NDManager m;
    Random r = new Random(5);

    @BeforeEach
    void setUp() {
        m = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    float[] randn(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    Param set(Param p) {
        p.set(m.create(randn((int) p.numel()), p.shape()));
        return p;
    }

    static double[] linear(float[] x, int rows, int in, float[] w, float[] b, int out) {
        double[] y = new double[rows * out];
        for (int i = 0; i < rows; i++) {
            for (int o = 0; o < out; o++) {
                double s = b == null ? 0 : b[o];
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * w[o * in + k];
                }
                y[i * out + o] = s;
            }
        }
        return y;
    }

    static void close(String what, NDArray got, double[] want, double atol) {
        float[] g = Torch.toFloatArray(got);
        float[] w = new float[want.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) want[i];
        }
        Compare.assertClose(what, g, w, got.getShape().getShape(), atol, 1e-5);
    }

    @Test
    void linearAndEmbedding() {
        Linear l = new Linear(4, 3, true);
        set(l.weight());
        set(l.bias());
        float[] x = randn(2 * 5 * 4);
        NDArray y = l.forward(m.create(x, new Shape(2, 5, 4)));
        assertThat(y.getShape().getShape()).containsExactly(2, 5, 3);
        close("linear", y, linear(x, 10, 4, Torch.toFloatArray(l.weight().get()), Torch.toFloatArray(l.bias().get()), 3), 1e-5);
        Linear nb = new Linear(4, 3, false);
        assertThat(nb.bias()).isNull();
        assertThat(nb.namedParameters()).containsOnlyKeys("weight");

        Embedding e = new Embedding(6, 3);
        set(e.weight());
        float[] table = Torch.toFloatArray(e.weight().get());
        NDArray got = e.forward(m.create(new long[] {5, 0, 2, 2}, new Shape(2, 2)));
        assertThat(got.getShape().getShape()).containsExactly(2, 2, 3);
        float[] g = got.toFloatArray();
        long[] ids = {5, 0, 2, 2};
        for (int i = 0; i < 4; i++) {
            for (int c = 0; c < 3; c++) {
                assertThat(g[i * 3 + c]).isEqualTo(table[(int) ids[i] * 3 + c]);
            }
        }
    }

    @Test
    void norms() {
        int d = 6;
        float[] x = randn(4 * d);
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] * 3 + 1;
        }
        LayerNorm ln = new LayerNorm(d, 1e-5f);
        set(ln.weight());
        set(ln.bias());
        RmsNorm rms = new RmsNorm(d, 1e-6f);
        set(rms.weight());
        float[] w = Torch.toFloatArray(ln.weight().get());
        float[] b = Torch.toFloatArray(ln.bias().get());
        float[] rw = Torch.toFloatArray(rms.weight().get());
        double[] wantLn = new double[x.length];
        double[] wantRms = new double[x.length];
        for (int row = 0; row < 4; row++) {
            double mean = 0;
            double sq = 0;
            for (int c = 0; c < d; c++) {
                mean += x[row * d + c];
                sq += (double) x[row * d + c] * x[row * d + c];
            }
            mean /= d;
            double var = 0;
            for (int c = 0; c < d; c++) {
                var += (x[row * d + c] - mean) * (x[row * d + c] - mean);
            }
            var /= d;
            for (int c = 0; c < d; c++) {
                wantLn[row * d + c] = (x[row * d + c] - mean) / Math.sqrt(var + 1e-5) * w[c] + b[c];
                wantRms[row * d + c] = x[row * d + c] / Math.sqrt(sq / d + 1e-6) * rw[c];
            }
        }
        NDArray in = m.create(x, new Shape(4, d));
        close("layer_norm", ln.forward(in), wantLn, 1e-5);
        close("rms_norm", rms.forward(in), wantRms, 1e-5);
        // bf16 activations: normalised in fp32, returned in bf16
        NDArray half = Torch.to(in, ScalarType.BFLOAT16);
        rms.weight().set(Torch.to(rms.weight().get(), ScalarType.BFLOAT16));
        NDArray y = rms.forward(half);
        assertThat(Torch.dtype(y)).isEqualTo(ScalarType.BFLOAT16);
        close("rms_norm bf16", y, wantRms, 0.05);
        NDArray z = ln.forward(half);
        assertThat(Torch.dtype(z)).isEqualTo(ScalarType.BFLOAT16);
        close("layer_norm bf16", z, wantLn, 0.05);
    }

    @Test
    void swiGlu() {
        SwiGluMlp mlp = new SwiGluMlp(4, 6, false);
        set(mlp.gateProj().weight());
        set(mlp.upProj().weight());
        set(mlp.downProj().weight());
        float[] x = randn(3 * 4);
        double[] gate = linear(x, 3, 4, Torch.toFloatArray(mlp.gateProj().weight().get()), null, 6);
        double[] up = linear(x, 3, 4, Torch.toFloatArray(mlp.upProj().weight().get()), null, 6);
        float[] h = new float[gate.length];
        for (int i = 0; i < h.length; i++) {
            double g = gate[i];
            h[i] = (float) (g / (1 + Math.exp(-g)) * up[i]);
        }
        double[] want = linear(h, 3, 6, Torch.toFloatArray(mlp.downProj().weight().get()), null, 4);
        close("swiglu", mlp.forward(m.create(x, new Shape(3, 4))), want, 1e-5);
        assertThat(mlp.namedParameters().keySet()).containsExactly("gate_proj.weight", "up_proj.weight", "down_proj.weight");
    }
}
