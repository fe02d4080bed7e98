package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.projector.ArchSpecifier.HeadType;
import dev.merv.core.projector.ProjectionHead;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.torch.Torch;
import java.util.List;

/**
 * {@code query_mlp}: an {@code MLPProjector(Dq, E)} ({@code projector.0: Linear(Dq, E)}, GELU,
 * {@code projector.2: Linear(E, E)}) maps a per-sample text query to E logits; softmax gives the encoder
 * weights; the output is the weighted sum of the projected sequences.
 *
 * <p>The reference constructs this module ({@code Dq} = 3072, meant for an external text embedding)
 * but has no forward branch for it, so no checkpoint of it exists. merv defines the query as the mean
 * of the row's attended text-token embeddings, so {@code Dq} = the LLM width; the layout keeps the
 * reference's names.
 */
public final class QueryMlpFusion extends FeatureFusion {

    private final ProjectionHead mlp;
    private final int queryDim;

    public QueryMlpFusion(int numEncoders, int llmDim, int tokenLength, int queryDim) {
        super(numEncoders, llmDim, tokenLength);
        this.queryDim = queryDim;
        this.mlp = new ProjectionHead(HeadType.GELU_MLP, queryDim, numEncoders);
        child("projector", mlp.inner());
    }

    @Override
    public FusionType type() {
        return FusionType.QUERY_MLP;
    }

    @Override
    public boolean needsTextQuery() {
        return true;
    }

    @Override
    public FusionResult fuse(List<NDArray> projected, FusionContext context) {
        checkInputs(projected, false);
        if (context == null || context.textQuery() == null) {
            throw new IllegalArgumentException("query_mlp needs FusionContext.textQuery [B, " + queryDim + "]");
        }
        try (NDArray logits = mlp.forward(context.textQuery())) {
            NDArray weights = Torch.softmax(logits, 1);
            return new FusionResult(WeightedSum.of(weights, projected), weights);
        }
    }

    @Override
    public void initialize(ReferenceInit init, NDManager manager) {
        mlp.initialize(init, manager);
    }

    public int queryDim() {
        return queryDim;
    }
}
