package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

class TorchSmokeTest {
    @Test
    void bf16RoundTripAndSdpa() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 3, 4, 8));
            NDArray b = Torch.to(x, ScalarType.BFLOAT16);
            assertThat(Torch.dtype(b)).isEqualTo(ScalarType.BFLOAT16);
            float[] back = Torch.toFloatArray(b);
            float[] orig = x.toFloatArray();
            for (int i = 0; i < orig.length; i++) {
                assertThat(Math.abs(back[i] - orig[i])).isLessThanOrEqualTo(Math.abs(orig[i]) / 128f + 1e-6f);
            }
            NDArray o = Torch.sdpa(x, x, x, null, true);
            assertThat(o.getShape()).isEqualTo(x.getShape());
        }
    }
}
