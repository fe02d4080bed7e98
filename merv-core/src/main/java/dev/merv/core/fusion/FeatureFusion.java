package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Module;
import dev.merv.core.projector.ReferenceInit;
import java.util.List;
import java.util.Set;

/**
 * Mixes the E encoders' projected sequences {@code [B, L, D]} into one (docs/reference.md §3.3). The
 * parameter tree is the reference's {@code feature_fusion} module, so its checkpoints load by name.
 */
public abstract class FeatureFusion extends Module {

    protected final int numEncoders;
    protected final int llmDim;
    protected final int tokenLength;

    protected FeatureFusion(int numEncoders, int llmDim, int tokenLength) {
        this.numEncoders = numEncoders;
        this.llmDim = llmDim;
        this.tokenLength = tokenLength;
    }

    /** The reference's {@code feature_fusion} value for this module. */
    public abstract FusionType type();

    public abstract FusionResult fuse(List<NDArray> projected, FusionContext context);

    public FusionResult fuse(List<NDArray> projected) {
        return fuse(projected, FusionContext.NONE);
    }

    /** Consumes the reference's random draws for this module in its construction order. */
    public abstract void initialize(ReferenceInit init, NDManager manager);

    /**
     * Parameters that exist only for checkpoint compatibility and never influence the output (W8: the
     * cross-attention's value projection and output projection). {@code Merv} freezes them.
     */
    public Set<String> unusedParameters() {
        return Set.of();
    }

    /** Whether {@link FusionContext#textQuery()} must be given. */
    public boolean needsTextQuery() {
        return false;
    }

    /** Whether {@link FusionContext#classKeys()} must be given. */
    public boolean needsClassKeys() {
        return false;
    }

    public int numEncoders() {
        return numEncoders;
    }

    protected void checkInputs(List<NDArray> projected, boolean allowLengthOne) {
        if (projected.size() != numEncoders) {
            throw new IllegalArgumentException(type().id() + ": built for " + numEncoders + " encoders, got "
                    + projected.size() + " projected sequences");
        }
        for (int e = 0; e < projected.size(); e++) {
            long[] s = projected.get(e).getShape().getShape();
            boolean lengthOk = s.length == 3 && (s[1] == tokenLength || (allowLengthOne && s[1] == 1));
            if (!lengthOk || s[2] != llmDim) {
                throw new IllegalArgumentException(type().id() + ": encoder " + e + " gives " + projected.get(e).getShape()
                        + ", expected [B, " + tokenLength + (allowLengthOne ? " (or 1)" : "") + ", " + llmDim
                        + "] (visual_feature_length x LLM width)");
            }
        }
    }
}
