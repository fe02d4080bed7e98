package dev.merv.core.train;

import dev.merv.core.model.Precision;
import dev.merv.core.nn.Param;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The per-device memory formula of {@link Trainer} (its class comment) worked out for a set of parameters that
 * need not hold any value yet: a real-size model built empty can be planned without allocating it.
 * {@link Trainer#memoryFormula()} is {@link #total()} of the live run.
 *
 * <pre>
 *   total = Pf*cf + 2*Pt*c + 16*Pt/N + Bmax*(4 + c) + (16 + c)*Bmax/N + Pmax*c      (activations not included)
 * </pre>
 *
 * @param frozenBytes {@code Pf*cf}: frozen weights in the dtype they are held in (the compute dtype for those with
 *     no value yet, as the trainer casts frozen weights to it)
 * @param trainable {@code Pt}: trainable elements
 * @param largestTrainable {@code Pmax}: elements of the largest trainable tensor
 * @param computeBytes {@code c}: bytes per element of the compute dtype
 * @param replicas {@code N}
 * @param largestBucket {@code Bmax}: elements of the largest padded gradient bucket
 */
public record MemoryPlan(long frozenBytes, long trainable, long largestTrainable, int computeBytes, int replicas,
        long largestBucket) {

    /** The plan for {@code params} (declaration order, as the trainer packs them) trained with these settings. */
    public static MemoryPlan of(Map<String, Param> params, Precision precision, int replicas, long bucketCapElements) {
        int c = precision.compute().bytes();
        long frozen = 0;
        long pt = 0;
        long pmax = 0;
        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        for (Map.Entry<String, Param> e : params.entrySet()) {
            Param p = e.getValue();
            if (p.trainable()) {
                pt += p.numel();
                pmax = Math.max(pmax, p.numel());
                names.add(e.getKey());
                shapes.add(p.shape().getShape());
            } else {
                frozen += p.numel() * (p.isSet() ? p.dtype().bytes() : c);
            }
        }
        long bmax = names.isEmpty() ? 0 : FlatLayout.build(names, shapes, replicas, bucketCapElements).maxPadded();
        return new MemoryPlan(frozen, pt, pmax, c, replicas, bmax);
    }

    /** {@code 2*Pt*c}: the trainable weights' compute copies and their gradients. */
    public long computeWeightsAndGrads() {
        return 2 * trainable * computeBytes;
    }

    /** {@code 16*Pt/N}: this replica's share of the fp32 masters, both AdamW moments and the fp32 gradient accumulator. */
    public long optimizerStateBytes() {
        return 16 * trainable / replicas;
    }

    /** {@code Bmax*(4 + c) + (16 + c)*Bmax/N + Pmax*c}: bucket buffers and the transient copies of a republish. */
    public long transientBytes() {
        return largestBucket * (4 + computeBytes) + (16 + computeBytes) * largestBucket / replicas
                + largestTrainable * computeBytes;
    }

    /** Everything but activations. */
    public long total() {
        return frozenBytes + computeWeightsAndGrads() + optimizerStateBytes() + transientBytes();
    }
}
