package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.train.NativeMemory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Over 10k bridged calls (stolen tensor handles, heap-allocated optionals, wrapped results, autograd)
 * with a sub-manager per iteration leave everything where it was:
 *
 * <ul>
 *   <li>live handles: DJL's managed-array count, and libtorch's own reference count of every
 *       long-lived input (each leaked {@code at::Tensor} handle to it would add one, exactly);
 *   <li>native heap (glibc {@code mallinfo2}): a leaked result or intermediate would add at least the
 *       1 MiB tensor each iteration passes through the bridge. Handles alone (8 bytes) are below the
 *       JVM's own malloc noise, which is why they are counted by reference count instead.
 * </ul>
 *
 * Positive controls leak one handle / one result per iteration on purpose and must be seen.
 */
class BridgeLeakTest {

    static final int WARMUP = 300;
    static final int WINDOW = 800;
    static final int WINDOWS = 3;
    static final int HANDLE_CONTROL = 200;
    static final int RESULT_CONTROL = 150;
    static final int BIG = 262_144; // floats: a 1 MiB tensor per iteration
    /** The JVM's own arenas (JIT, chunk pool cleaning) swing the heap by several KiB per iteration. */
    static final double MAX_BYTES_PER_ITERATION = 64 * 1024;

    @SuppressWarnings("try") // the scope only switches grad mode
    @Test
    void bridgedCallsDoNotLeak() {
        try (NDManager base = NDManager.newBaseManager(); Torch.GradMode g = Torch.withGrad()) {
            NDArray q = base.randomNormal(new Shape(1, 2, 4, 8));
            NDArray w = base.randomNormal(new Shape(8, 8));
            w.setRequiresGradient(true);
            NDArray mask = base.create(new boolean[] {true, false, true, true}, new Shape(1, 1, 1, 4));
            NDArray target = base.create(new long[] {1, -100, 3, 4, 5, -100, 7, 0});
            NDArray big = base.randomNormal(new Shape(BIG));
            List<NDArray> inputs = List.of(q, w, mask, target, big);
            inputs.forEach(Refcount::check);
            int[] refs = inputs.stream().mapToInt(Refcount::of).toArray();
            int live = base.getManagedArrays().size();
            int[] calls = {0};
            List<NDArray> leakedResults = new ArrayList<>();
            long[] leakedHandles = new long[HANDLE_CONTROL];
            int[] mode = {0}; // 0 normal, 1 leak a handle, 2 leak a result
            int[] iter = {0};
            Runnable step = () -> {
                try (NDManager s = base.newSubManager()) {
                    // long-lived inputs are lent to the step manager so that results land there
                    inputs.forEach(x -> x.tempAttach(s));
                    NDArray x = Torch.matmul(Torch.to(q, ScalarType.BFLOAT16), Torch.to(w, ScalarType.BFLOAT16));
                    NDArray a = Torch.sdpa(x, x, x, mask, false, 0.25, false);
                    NDArray logits = Torch.to(Torch.silu(a), ScalarType.FLOAT32).reshape(8, 8);
                    NDArray loss = Torch.crossEntropy(logits, target, Torch.Reduction.MEAN, -100);
                    JniUtils.backward((PtNDArray) loss, (PtNDArray) s.ones(loss.getShape()), false, false);
                    NDArray b = Torch.sigmoid(big);
                    calls[0] += 9;
                    if (mode[0] == 1) {
                        leakedHandles[iter[0]++] = Torch.newHandle((PtNDArray) big);
                    } else if (mode[0] == 2) {
                        b.detach();
                        leakedResults.add(b);
                    }
                }
            };
            for (int i = 0; i < WARMUP; i++) {
                step.run();
            }
            double[] perIteration = new double[WINDOWS];
            for (int wdx = 0; wdx < WINDOWS; wdx++) {
                long before = heapInUse();
                for (int i = 0; i < WINDOW; i++) {
                    step.run();
                }
                perIteration[wdx] = (heapInUse() - before) / (double) WINDOW;
                assertThat(base.getManagedArrays().size()).as("live DJL arrays after window %d", wdx).isEqualTo(live);
                assertThat(inputs.stream().mapToInt(Refcount::of).toArray())
                        .as("libtorch reference counts of the inputs after window %d", wdx).containsExactly(refs);
            }
            System.out.printf("bridge leak check: %d bridged calls; native heap growth per iteration by window %s%n",
                    calls[0], Arrays.toString(perIteration));
            assertThat(calls[0]).isGreaterThanOrEqualTo(10_000);
            // the median window: glibc and the JIT's arenas move the heap in bursts in both directions
            double[] sorted = perIteration.clone();
            Arrays.sort(sorted);
            assertThat(sorted[WINDOWS / 2]).as("native heap growth per iteration (bytes), windows %s",
                    Arrays.toString(perIteration)).isLessThan(MAX_BYTES_PER_ITERATION);

            // positive controls
            mode[0] = 1;
            for (int i = 0; i < HANDLE_CONTROL; i++) {
                step.run();
            }
            mode[0] = 0;
            assertThat(Refcount.of(big)).as("leaked handles show in the reference count").isEqualTo(refs[4] + HANDLE_CONTROL);
            mode[0] = 2;
            long before = heapInUse();
            for (int i = 0; i < RESULT_CONTROL; i++) {
                step.run();
            }
            double control = (heapInUse() - before) / (double) RESULT_CONTROL;
            mode[0] = 0;
            leakedResults.forEach(NDArray::close);
            for (long h : leakedHandles) {
                LibTorch.aoti_torch_delete_tensor_object(h);
            }
            System.out.printf("bridge leak check: positive control, one leaked 1 MiB result per iteration: %.0f B/iteration%n",
                    control);
            assertThat(control).as("a leaked result per iteration is detectable").isGreaterThan(8 * MAX_BYTES_PER_ITERATION);
        }
    }

    /** Native heap in use; fails (rather than measuring nothing) where mallinfo2 is unavailable. */
    private static long heapInUse() {
        long bytes = NativeMemory.mallocInUse();
        assertThat(bytes).as("glibc mallinfo2 (NativeMemory.mallocInUse)").isGreaterThanOrEqualTo(0);
        return bytes;
    }
}
