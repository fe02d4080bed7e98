package dev.merv.core.projector;

/**
 * Builds one encoder's projector from a parsed {@link ArchSpecifier} (docs/reference.md §3.1-3.2).
 */
public final class Projectors {

    private Projectors() {}

    /**
     * @param encoderDim the encoder's embedding width C
     * @param temporal the encoder's temporal slots T
     * @param spatial the encoder's tokens per slot S (a perfect square for every resampler but attntv)
     * @param llmDim the LLM width D
     * @param projectorTokenLength tokens per output frame (a perfect square except for attntv's query count)
     */
    public static Projector build(ArchSpecifier arch, int encoderDim, int temporal, int spatial, int llmDim,
            int projectorTokenLength) {
        int s = ArchSpecifier.outputSize(projectorTokenLength);
        Projector p = switch (arch.resampler()) {
            case AVG3D -> new AvgPool3dProjector(encoderDim, llmDim, temporal, spatial, arch.outputFrames(temporal), s,
                    arch.head());
            case CONV3D -> new Conv3dProjector(encoderDim, llmDim, temporal, spatial, arch.outputFrames(temporal), s,
                    arch.head());
            case AVG -> new AvgPoolProjector(encoderDim, llmDim, temporal, spatial, s, arch.head());
            case ATTNTV -> new AttentivePoolerProjector(encoderDim, llmDim, temporal, spatial, projectorTokenLength,
                    arch.head());
            case CONV -> new ConvProjector(encoderDim, llmDim, temporal, spatial, s, arch.head());
            case NONE -> new HeadOnlyProjector(encoderDim, llmDim, temporal, spatial, arch.head());
        };
        if (p.outDim() != llmDim) {
            throw new IllegalArgumentException("model.arch_specifier='" + arch.text() + "': the '" + arch.head().suffix()
                    + "' head leaves the encoder width " + p.outDim() + " but the LLM needs " + llmDim
                    + "; use a linear/gelu-mlp head or a resampler that projects (conv, 3dconv)");
        }
        return p;
    }
}
