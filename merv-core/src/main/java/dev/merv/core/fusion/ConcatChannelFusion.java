package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.LayerNorm;
import dev.merv.core.nn.Linear;
import dev.merv.core.projector.ArchSpecifier.HeadType;
import dev.merv.core.projector.ProjectionHead;
import dev.merv.core.projector.ReferenceInit;
import java.util.List;

/**
 * {@code concat_channel}: concatenate the E sequences along channels ({@code [B, L, E*D]}) and project
 * with {@code Linear(E*D, D)} (the reference's {@code LinearProjector}: {@code projector.weight/bias});
 * {@code concat_channel_ln} puts a {@code LayerNorm(E*D)} first ({@code nn.Sequential}: {@code 0.weight},
 * {@code 1.projector.weight}). No mixing weights.
 */
public final class ConcatChannelFusion extends FeatureFusion {

    private final LayerNorm norm;
    private final ProjectionHead head;
    private final Linear linear;

    public ConcatChannelFusion(int numEncoders, int llmDim, int tokenLength, boolean layerNorm) {
        super(numEncoders, llmDim, tokenLength);
        int wide = numEncoders * llmDim;
        if (layerNorm) {
            norm = child("0", new LayerNorm(wide, 1e-5f));
            head = child("1", new ProjectionHead(HeadType.LINEAR, wide, llmDim));
        } else {
            norm = null;
            head = new ProjectionHead(HeadType.LINEAR, wide, llmDim);
            child("projector", head.inner());
        }
        linear = (Linear) head.inner();
    }

    @Override
    public FusionType type() {
        return norm == null ? FusionType.CONCAT_CHANNEL : FusionType.CONCAT_CHANNEL_LN;
    }

    @Override
    public FusionResult fuse(List<NDArray> projected, FusionContext context) {
        checkInputs(projected, false);
        try (NDArray cat = NDArrays.concat(new NDList(projected.toArray(new NDArray[0])), -1)) {
            if (norm == null) {
                return new FusionResult(linear.forward(cat), null);
            }
            try (NDArray n = norm.forward(cat)) {
                return new FusionResult(linear.forward(n), null);
            }
        }
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        if (norm != null) {
            ReferenceInit.constant(norm.weight(), 1f, manager);
            ReferenceInit.constant(norm.bias(), 0f, manager);
        }
        init.linear(linear, manager);
    }
}
