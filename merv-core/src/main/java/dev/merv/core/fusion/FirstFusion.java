package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.torch.Torch;
import java.util.List;

/** {@code first}: only the first encoder's projected tokens are used (no parameters, no weights). */
public final class FirstFusion extends FeatureFusion {

    public FirstFusion(int numEncoders, int llmDim, int tokenLength) {
        super(numEncoders, llmDim, tokenLength);
    }

    @Override
    public FusionType type() {
        return FusionType.FIRST;
    }

    @Override
    public FusionResult fuse(List<NDArray> projected, FusionContext context) {
        checkInputs(projected, false);
        return new FusionResult(Torch.clone(projected.get(0)), null);
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        // no parameters
    }
}
