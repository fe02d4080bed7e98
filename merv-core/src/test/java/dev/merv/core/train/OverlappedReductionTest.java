package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyBatch;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Param;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gradient buckets reduced while backward still runs: a bucket goes as soon as the layer-wise backward has
 * finished every tensor in it (top layers first), the others after the whole backward; what the owners
 * accumulate, and so the whole training run, is bit for bit what reducing every bucket at the end gives.
 */
class OverlappedReductionTest {

    @TempDir
    Path root;

    @Test
    void bucketsOfFinishedLayersGoFirstAndTheRestAtTheEnd() {
        List<String> names = List.of("embed.weight", "layers.0.a", "layers.0.b", "layers.1.a", "layers.1.b", "head.weight");
        List<long[]> shapes = List.of(new long[] {8}, new long[] {6}, new long[] {6}, new long[] {6}, new long[] {6},
                new long[] {8});
        FlatLayout layout = FlatLayout.build(names, shapes, 1, 12);
        try (NDManager m = NDManager.newBaseManager()) {
            ZeroShard shard = new ZeroShard(0, layout, m, ScalarType.FLOAT32);
            int[] layerOf = new int[names.size()];
            for (FlatLayout.Entry e : layout.entries()) {
                layerOf[e.id()] = TrainableModel.Layered.layerIndex("layers.", e.name());
            }
            shard.layers(layerOf);
            List<Param> params = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                Param p = new Param(names.get(i), shapes.get(i));
                NDArray v = m.ones(new ai.djl.ndarray.types.Shape(shapes.get(i)));
                p.set(v); // trainable: requires a gradient
                try (var g = Torch.withGrad(); NDArray sum = v.sum(); NDArray seed = m.ones(new ai.djl.ndarray.types.Shape())) {
                    JniUtils.backward((PtNDArray) sum, (PtNDArray) seed, false, false);
                }
                params.add(p);
            }
            int[] calls = {0};
            Collective counting = new Counting(new InProcessCollective(1), calls);
            shard.beginStep();
            shard.reduceReady(1, params, counting);
            int afterTop = calls[0];
            for (FlatLayout.Bucket b : layout.buckets()) {
                boolean onlyLayer1 = b.entries().stream().allMatch(e -> layerOf[e.id()] == 1);
                assertThat(shard.reducedInThisMicroBatch(b.index())).as("bucket %d after layer 1", b.index()).isEqualTo(onlyLayer1);
            }
            shard.reduceReady(0, params, counting);
            for (FlatLayout.Bucket b : layout.buckets()) {
                boolean onlyLayers = b.entries().stream().allMatch(e -> layerOf[e.id()] >= 0);
                assertThat(shard.reducedInThisMicroBatch(b.index())).as("bucket %d after layer 0", b.index()).isEqualTo(onlyLayers);
            }
            shard.accumulate(params, counting);
            assertThat(calls[0]).as("each bucket reduced once").isEqualTo(layout.buckets().size());
            assertThat(afterTop).as("some bucket went before the backward finished").isPositive();
            for (int b = 0; b < layout.buckets().size(); b++) {
                for (float g : shard.gradAcc[b].toFloatArray()) {
                    assertThat(g).isIn(0f, 1f); // ones where a tensor lies, zero padding
                }
            }
            shard.close();
        }
    }

    /** The in-process collective, counting reduce-scatters. */
    private record Counting(Collective inner, int[] calls) implements Collective {
        public int size() {
            return inner.size();
        }

        public void allReduceSum(int rank, NDArray buf) {
            inner.allReduceSum(rank, buf);
        }

        public double[] allReduceSum(int rank, double[] values) {
            return inner.allReduceSum(rank, values);
        }

        public void reduceScatterSum(int rank, NDArray input, NDArray output) {
            calls[0]++;
            inner.reduceScatterSum(rank, input, output);
        }

        public void allGather(int rank, NDArray input, NDArray output) {
            inner.allGather(rank, input, output);
        }

        public void broadcast(int rank, NDArray buf, int root) {
            inner.broadcast(rank, buf, root);
        }

        public void barrier(int rank) {
            inner.barrier(rank);
        }

        public void abort() {
            inner.abort();
        }
    }

    @Test
    void overlappedReductionTrainsBitForBitLikeEndOnlyReduction() {
        Map<String, float[]> overlapped = run("overlap", true);
        Map<String, float[]> endOnly = run("end-only", false);
        for (String k : endOnly.keySet()) {
            assertThat(overlapped.get(k)).as(k).containsExactly(endOnly.get(k));
        }
    }

    private Map<String, float[]> run(String id, boolean overlap) {
        boolean saved = Replica.overlapReduction;
        Replica.overlapReduction = overlap;
        try {
            TrainConfig c = TrainerTesting.config(root, id, 12, 3, "cpu:2", 3);
            c.recompute = true;
            c.bucketCapElements = 300; // several buckets per layer
            try (Trainer<TinyBatch> t = TrainerTesting.trainer(c, TrainerTesting.source())) {
                t.run();
                return TrainerTesting.weights(t);
            }
        } finally {
            Replica.overlapReduction = saved;
        }
    }
}
