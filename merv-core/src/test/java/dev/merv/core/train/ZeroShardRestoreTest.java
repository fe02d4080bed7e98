package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Resuming from a state reader: each replica asks only for the element ranges its pieces own (together
 * exactly its share, never the whole state), and ends with the pieces a full-state restore gives.
 */
class ZeroShardRestoreTest {

    @Test
    void eachReplicaReadsOnlyItsPiecesAndGetsTheFullRestoresValues() {
        List<String> names = List.of("a.weight", "b.weight", "c.bias", "d.weight");
        List<long[]> shapes = List.of(new long[] {5, 7}, new long[] {11}, new long[] {3}, new long[] {4, 6});
        int replicas = 3;
        FlatLayout layout = FlatLayout.build(names, shapes, replicas, 40);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray[]> full = new HashMap<>();
            Map<String, Long> steps = new HashMap<>();
            for (int i = 0; i < names.size(); i++) {
                NDArray[] st = new NDArray[3];
                for (int k = 0; k < 3; k++) {
                    st[k] = m.arange(0f, (float) new Shape(shapes.get(i)).size(), 1f).add(1000 * i + 100 * k)
                            .reshape(new Shape(shapes.get(i)));
                }
                full.put(names.get(i), st);
                steps.put(names.get(i), 5L + i);
            }
            for (int r = 0; r < replicas; r++) {
                ZeroShard byMap = new ZeroShard(r, layout, m, ScalarType.FLOAT32);
                ZeroShard byReader = new ZeroShard(r, layout, m, ScalarType.FLOAT32);
                byMap.restore(full, steps);
                List<long[]> asked = new ArrayList<>();
                byReader.restore((name, kind, from, to, scope) -> {
                    asked.add(new long[] {kind, from, to});
                    NDArray part = full.get(name)[kind].flatten().get(from + ":" + to);
                    part.attach(scope);
                    return part;
                }, steps);
                long elements = asked.stream().filter(a -> a[0] == 0).mapToLong(a -> a[2] - a[1]).sum();
                long owned = 0;
                for (FlatLayout.Bucket b : layout.buckets()) {
                    long lo = b.pieceStart(r);
                    for (FlatLayout.Entry e : b.entries()) {
                        owned += Math.max(0, Math.min(lo + b.piece(), e.offset() + e.numel()) - Math.max(lo, e.offset()));
                    }
                }
                assertThat(elements).as("rank %d reads its share", r).isEqualTo(owned);
                long total = layout.entries().stream().mapToLong(FlatLayout.Entry::numel).sum();
                assertThat(elements).as("rank %d", r).isLessThan(total);
                for (int b = 0; b < layout.buckets().size(); b++) {
                    assertThat(byReader.master[b].toFloatArray()).containsExactly(byMap.master[b].toFloatArray());
                    assertThat(byReader.expAvg[b].toFloatArray()).containsExactly(byMap.expAvg[b].toFloatArray());
                    assertThat(byReader.expAvgSq[b].toFloatArray()).containsExactly(byMap.expAvgSq[b].toFloatArray());
                    assertThat(byReader.steps[b]).isEqualTo(byMap.steps[b]);
                }
                byMap.close();
                byReader.close();
            }
        }
    }
}
