package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.torch.Torch;
import java.util.List;

/**
 * {@code scalar} (the reference's {@code ScalarAdapter}): E learnable scalars ({@code scalar}, drawn
 * N(0, 1)); weights = softmax(scalar), the same for every sample; output = weighted sum. The reference
 * hard-codes 4 scalars whatever the encoder count (W20); merv uses E (identical for 4 encoders).
 */
public final class ScalarFusion extends FeatureFusion {

    private final Param scalar;

    public ScalarFusion(int numEncoders, int llmDim, int tokenLength) {
        super(numEncoders, llmDim, tokenLength);
        this.scalar = param("scalar", numEncoders);
    }

    @Override
    public FusionType type() {
        return FusionType.SCALAR;
    }

    @Override
    public FusionResult fuse(List<NDArray> projected, FusionContext context) {
        checkInputs(projected, false);
        long b = projected.get(0).getShape().get(0);
        try (NDArray w = Torch.softmax(scalar.get(), 0)) {
            NDArray weights = w.reshape(1, numEncoders).broadcast(b, numEncoders);
            return new FusionResult(WeightedSum.of(weights, projected), weights);
        }
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        init.normal(scalar, 0.0, 1.0, manager);
    }
}
