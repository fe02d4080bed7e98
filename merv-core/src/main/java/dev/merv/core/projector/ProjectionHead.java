package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.projector.ArchSpecifier.HeadType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;

/**
 * A projection head with the reference's module layout: {@code LinearProjector} ({@code projector} =
 * the Linear), {@code MLPProjector} ({@code projector.0}, {@code projector.2}), {@code FusedMLPProjector}
 * ({@code projector.0/.2/.4}), or identity (no parameters). All Linears have bias; GELU is the exact
 * (erf) form. The reference's optional pre-projection LayerNorm is never enabled by MERV and is not
 * built.
 */
public final class ProjectionHead extends Module {

    private final HeadType type;
    private final int inDim;
    private final int outDim;
    private final List<Linear> layers = new ArrayList<>();
    private final Module inner;

    public ProjectionHead(HeadType type, int inDim, int outDim) {
        this.type = type;
        this.inDim = inDim;
        this.outDim = type == HeadType.NONE ? inDim : outDim;
        switch (type) {
            case LINEAR -> {
                Linear l = new Linear(inDim, outDim, true);
                layers.add(l);
                inner = child("projector", l);
            }
            case GELU_MLP -> inner = child("projector", new Indexed(
                    new Linear(inDim, outDim, true), new Linear(outDim, outDim, true)));
            case FUSED_GELU_MLP -> inner = child("projector", new Indexed(new Linear(inDim, 4 * inDim, true),
                    new Linear(4 * inDim, outDim, true), new Linear(outDim, outDim, true)));
            default -> inner = null;
        }
        if (inner instanceof Indexed ix) {
            layers.addAll(ix.linears);
        }
    }

    /** {@code nn.Sequential} of Linears with GELUs between: children named 0, 2, 4 (the GELUs hold no parameters). */
    private static final class Indexed extends Module {
        final List<Linear> linears;

        Indexed(Linear... ls) {
            linears = List.of(ls);
            for (int i = 0; i < ls.length; i++) {
                child(Integer.toString(2 * i), ls[i]);
            }
        }
    }

    /** {@code [..., in]} to {@code [..., out]}; always a new array (identity heads return a differentiable copy). */
    public NDArray forward(NDArray x) {
        if (layers.isEmpty()) {
            return Torch.clone(x);
        }
        NDArray h = x;
        for (int i = 0; i < layers.size(); i++) {
            NDArray y = layers.get(i).forward(h);
            if (i < layers.size() - 1) {
                NDArray g = Torch.gelu(y);
                y.close();
                y = g;
            }
            if (h != x) {
                h.close();
            }
            h = y;
        }
        return h;
    }

    /**
     * The module the reference stores as this head's {@code projector} attribute (the Linear or the
     * Sequential), or null for identity. A head-only projector mounts it directly, because there the
     * reference's projector <em>is</em> the {@code LinearProjector}/{@code MLPProjector}.
     */
    public Module inner() {
        return inner;
    }

    /** Reference init order: each Linear's default init, first to last. */
    public void initialize(ReferenceInit init, NDManager manager) {
        for (Linear l : layers) {
            init.linear(l, manager);
        }
    }

    List<Linear> linears() {
        return layers;
    }

    public HeadType type() {
        return type;
    }

    public int inDim() {
        return inDim;
    }

    public int outDim() {
        return outDim;
    }
}
