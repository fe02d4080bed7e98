package dev.merv.core.fusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.merv.core.torch.Torch;
import java.util.List;

/** {@code sum_e w[b, e] * P_e[b]} for weights {@code [B, E]} and sequences {@code [B, L, D]}. */
final class WeightedSum {

    private WeightedSum() {}

    static NDArray of(NDArray weights, List<NDArray> projected) {
        long b = projected.get(0).getShape().get(0);
        long l = projected.get(0).getShape().get(1);
        long d = projected.get(0).getShape().get(2);
        int e = projected.size();
        try (NDArray stacked = NDArrays.stack(new NDList(projected.toArray(new NDArray[0])), 1);
                NDArray flat = stacked.reshape(b, e, l * d);
                NDArray w3 = weights.reshape(b, 1, e);
                NDArray mixed = Torch.matmul(w3, flat)) {
            return mixed.reshape(b, l, d);
        }
    }
}
