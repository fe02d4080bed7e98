package dev.merv.core.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.testing.Compare;
import dev.merv.core.torch.ScalarType;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/**
 * HF's rotate-half RoPE: {@code inv_freq = 1 / theta^(2i/d)}, the Llama 3.1 rescaling's three regimes, the
 * {@code [B, T, d]} cos/sin tables of {@code cat(freqs, freqs)} and {@code x cos + rotate_half(x) sin}, all written
 * out here in double precision.
 */
class RotaryEmbeddingTest {

    @Test
    void inverseFrequenciesAndTheLlama3Rule() {
        int d = 16;
        double theta = 500000;
        float[] base = RotaryEmbedding.standard(d, theta).invFreq();
        assertThat(base).hasSize(d / 2);
        for (int i = 0; i < d / 2; i++) {
            assertThat((double) base[i]).isCloseTo(1 / Math.pow(theta, 2.0 * i / d), Offset.offset(1e-7 * base[i] + 1e-12));
        }
        double factor = 8;
        double low = 1;
        double high = 4;
        int orig = 64;
        float[] scaled = RotaryEmbedding.llama3(d, theta, factor, low, high, orig).invFreq();
        int kept = 0;
        int divided = 0;
        int smoothed = 0;
        for (int i = 0; i < d / 2; i++) {
            double f = base[i];
            double wavelen = 2 * Math.PI / f;
            double want;
            if (wavelen < orig / high) {
                want = f;
                kept++;
            } else if (wavelen > orig / low) {
                want = f / factor;
                divided++;
            } else {
                double s = (orig / wavelen - low) / (high - low);
                want = (1 - s) * f / factor + s * f;
                smoothed++;
            }
            assertThat((double) scaled[i]).as("inv_freq[%d]", i).isCloseTo(want, Offset.offset(1e-6 * want));
        }
        assertThat(kept).as("some kept").isPositive();
        assertThat(divided).as("some divided").isPositive();
        assertThat(smoothed).as("some smoothed").isPositive();
        assertThatThrownBy(() -> RotaryEmbedding.standard(5, 10000)).hasMessageContaining("even");
        assertThatThrownBy(() -> RotaryEmbedding.llama3(d, theta, 8, 4, 1, 64)).hasMessageContaining("high_freq_factor");
    }

    @Test
    void tablesAndRotation() {
        int d = 6;
        RotaryEmbedding rope = RotaryEmbedding.standard(d, 10000);
        float[] inv = rope.invFreq();
        try (NDManager m = NDManager.newBaseManager()) {
            long[] pos = {0, 1, 5, 2, 3, 7};
            NDArray[] cs = rope.cosSin(m.create(pos, new Shape(2, 3)), ScalarType.FLOAT32, m);
            assertThat(cs[0].getShape()).isEqualTo(rope.tableShape(2, 3));
            float[] cos = cs[0].toFloatArray();
            float[] sin = cs[1].toFloatArray();
            for (int p = 0; p < 6; p++) {
                for (int j = 0; j < d; j++) {
                    double a = pos[p] * (double) inv[j % (d / 2)];
                    assertThat((double) cos[p * d + j]).isCloseTo(Math.cos(a), Offset.offset(1e-6));
                    assertThat((double) sin[p * d + j]).isCloseTo(Math.sin(a), Offset.offset(1e-6));
                }
            }
            // x [B=2, H=1, T=3, d]
            float[] x = new float[2 * 3 * d];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) Math.sin(1.3 * i + 0.2);
            }
            NDArray y = RotaryEmbedding.apply(m.create(x, new Shape(2, 1, 3, d)), cs[0], cs[1]);
            float[] want = new float[x.length];
            for (int p = 0; p < 6; p++) {
                for (int j = 0; j < d; j++) {
                    double rotated = j < d / 2 ? -x[p * d + j + d / 2] : x[p * d + j - d / 2];
                    want[p * d + j] = (float) (x[p * d + j] * cos[p * d + j] + rotated * sin[p * d + j]);
                }
            }
            Compare.assertClose("x cos + rotate_half(x) sin", y, m.create(want, new Shape(2, 1, 3, d)), 1e-6, 1e-6);
            NDArray[] half = rope.cosSin(m.create(pos, new Shape(2, 3)), ScalarType.BFLOAT16, m);
            assertThat(dev.merv.core.torch.Torch.dtype(half[0])).isEqualTo(ScalarType.BFLOAT16);
        }
    }
}
