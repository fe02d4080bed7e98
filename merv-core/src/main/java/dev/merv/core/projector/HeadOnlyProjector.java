package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import dev.merv.core.nn.Module;
import dev.merv.core.projector.ArchSpecifier.HeadType;

/**
 * No token resampler (an {@code arch_specifier} with only a head, e.g. {@code gelu-mlp}): the head runs
 * on all {@code T x S} encoder tokens. As in the reference, the projector <em>is</em> the head module,
 * so its parameters are {@code projector.weight} (linear) or {@code projector.0.weight} (MLPs), one level
 * shallower than under a resampler.
 */
public final class HeadOnlyProjector extends HeadedProjector {


    public HeadOnlyProjector(int inDim, int llmDim, int temporalIn, int spatialIn, HeadType headType) {
        super(inDim, temporalIn, spatialIn, temporalIn, spatialIn);
        Module inner = useHead(new ProjectionHead(headType, inDim, llmDim)).inner();
        if (inner != null) {
            child("projector", inner);
        }
    }

    @Override
    NDArray resample(NDArray x, long b) {
        return x.reshape(b, (long) temporalIn * spatialIn, inDim);
    }
}
