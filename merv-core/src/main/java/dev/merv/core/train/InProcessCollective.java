package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;

/**
 * {@link Collective} for replicas that are threads of one JVM: every rank publishes its array in a
 * slot, all meet at a barrier, each computes its own result from the others' slots (device-to-device
 * copies through the bridge when devices differ), and all meet again before anyone may touch its
 * input. Sums run in rank order, so one and several replicas differ only by fp32 summation order.
 */
public final class InProcessCollective implements Collective {

    private final int size;
    private final CyclicBarrier barrier;
    private final NDArray[] slots;
    private final double[][] hostSlots;

    public InProcessCollective(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("collective size must be >= 1, got " + size);
        }
        this.size = size;
        this.barrier = new CyclicBarrier(size);
        this.slots = new NDArray[size];
        this.hostSlots = new double[size][];
    }

    @Override
    public int size() {
        return size;
    }

    private void await() {
        if (size == 1) {
            return;
        }
        try {
            barrier.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("collective interrupted", e);
        } catch (BrokenBarrierException e) {
            throw new IllegalStateException("collective aborted: another replica failed", e);
        }
    }

    @Override
    public void allReduceSum(int rank, NDArray buf) {
        slots[rank] = buf;
        await();
        NDArray sum = null;
        if (size > 1) {
            sum = Torch.toDevice(slots[0], buf.getManager(), Torch.dtype(buf));
            for (int j = 1; j < size; j++) {
                FlatOps.addFrom(sum, slots[j]);
            }
        }
        await();
        if (sum != null) {
            FlatOps.copyInto(buf, sum);
            sum.close();
        }
    }

    @Override
    public double[] allReduceSum(int rank, double[] values) {
        hostSlots[rank] = values;
        await();
        double[] out = new double[values.length];
        for (int j = 0; j < size; j++) {
            double[] v = hostSlots[j];
            for (int i = 0; i < out.length; i++) {
                out[i] += v[i];
            }
        }
        await();
        return out;
    }

    @Override
    public void reduceScatterSum(int rank, NDArray input, NDArray output) {
        long k = output.getShape().get(0);
        if (input.getShape().get(0) != k * size) {
            throw new IllegalArgumentException("reduceScatter: input has " + input.getShape().get(0) + " elements, expected "
                    + size + " x " + k);
        }
        slots[rank] = input;
        await();
        for (int j = 0; j < size; j++) {
            try (NDArray part = FlatOps.slice(slots[j], rank * k, (rank + 1) * k)) {
                if (j == 0) {
                    FlatOps.copyInto(output, part);
                } else {
                    FlatOps.addFrom(output, part);
                }
            }
        }
        await();
    }

    @Override
    public void allGather(int rank, NDArray input, NDArray output) {
        long k = input.getShape().get(0);
        if (output.getShape().get(0) != k * size) {
            throw new IllegalArgumentException("allGather: output has " + output.getShape().get(0) + " elements, expected "
                    + size + " x " + k);
        }
        slots[rank] = input;
        await();
        for (int j = 0; j < size; j++) {
            try (NDArray part = FlatOps.slice(output, j * k, (j + 1) * k)) {
                FlatOps.copyInto(part, slots[j]);
            }
        }
        await();
    }

    @Override
    public void broadcast(int rank, NDArray buf, int root) {
        slots[rank] = buf;
        await();
        if (rank != root) {
            FlatOps.copyInto(buf, slots[root]);
        }
        await();
    }

    @Override
    public void barrier(int rank) {
        await();
    }

    @Override
    public void abort() {
        barrier.reset();
    }
}
