package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Module;
import dev.merv.core.projector.ArchSpecifier.HeadType;

/**
 * No token resampler (an {@code arch_specifier} with only a head, e.g. {@code gelu-mlp}): the head runs
 * on all {@code T x S} encoder tokens. As in the reference, the projector <em>is</em> the head module,
 * so its parameters are {@code projector.weight} (linear) or {@code projector.0.weight} (MLPs), one level
 * shallower than under a resampler.
 */
public final class HeadOnlyProjector extends Projector {

    private final ProjectionHead head;

    public HeadOnlyProjector(int inDim, int llmDim, int temporalIn, int spatialIn, HeadType headType) {
        super(inDim, temporalIn, spatialIn);
        this.head = new ProjectionHead(headType, inDim, llmDim);
        Module inner = head.inner();
        if (inner != null) {
            child("projector", inner);
        }
    }

    @Override
    public NDArray forward(NDArray x) {
        checkInput(x);
        long b = x.getShape().get(0);
        try (NDArray tokens = x.reshape(b, (long) temporalIn * spatialIn, inDim)) {
            return head.forward(tokens);
        }
    }

    @Override
    public ProjectionHead head() {
        return head;
    }

    @Override
    public int outputFrames() {
        return temporalIn;
    }

    @Override
    public int tokensPerFrame() {
        return spatialIn;
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        head.initialize(init, manager);
    }
}
