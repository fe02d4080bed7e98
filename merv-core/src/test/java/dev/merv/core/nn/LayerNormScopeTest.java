package dev.merv.core.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import org.junit.jupiter.api.Test;

/**
 * A forward leaves nothing in the parameters' manager: every array it creates belongs to the input's
 * (scoped) manager, whatever the weights' and the input's dtypes. Found by the soak benchmark: one fp32 cast
 * of each weight per call used to accumulate in the model's manager for the whole run.
 */
class LayerNormScopeTest {

    @Test
    void aForwardLeavesNothingInTheWeightsManager() {
        for (ScalarType weights : new ScalarType[] {ScalarType.FLOAT32, ScalarType.BFLOAT16}) {
            for (ScalarType input : new ScalarType[] {ScalarType.FLOAT32, ScalarType.BFLOAT16}) {
                try (NDManager model = NDManager.newBaseManager()) {
                    LayerNorm ln = new LayerNorm(6, 1e-5f);
                    ln.weight().set(Torch.to(model.ones(new Shape(6)), weights));
                    ln.bias().set(Torch.to(model.zeros(new Shape(6)), weights));
                    int before = model.getManagedArrays().size();
                    for (int i = 0; i < 3; i++) {
                        try (NDManager step = model.newSubManager()) {
                            NDArray x = Torch.to(step.randomNormal(new Shape(2, 6)), input);
                            NDArray y = ln.forward(x);
                            assertThat(Torch.dtype(y)).isEqualTo(input);
                        }
                    }
                    assertThat(model.getManagedArrays().size()).as("weights %s, input %s", weights, input)
                            .isEqualTo(before);
                }
            }
        }
    }
}
