package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.torch.Transfers;
import java.util.List;

/**
 * One replica's share of the optimizer (ZeRO-2): for every bucket of the {@link FlatLayout} the fp32
 * master piece it owns, the AdamW moments of that piece and an fp32 gradient accumulator for it.
 * After each micro-batch the replica's gradients (any compute dtype) are copied into a flat bucket
 * buffer of the reduce dtype and reduce-scattered (the sum over replicas is computed in that dtype:
 * the compute dtype unless {@code reduce_in_full_precision}, as FSDP's {@code reduce_dtype}), then each
 * owner adds its piece into its fp32 accumulator, so micro-batches accumulate in fp32; the optimizer
 * steps only the owned pieces; the new weights are cast to the compute dtype and all-gathered into
 * fresh parameter tensors.
 *
 * <p>Gradients that were never defined (a parameter outside the loss graph, PyTorch's
 * {@code grad is None}) are tracked per parameter and OR-ed across replicas; such parameters are
 * skipped by AdamW entirely (no decay, no moment update), as torch does. Limitation: the step count
 * used for bias correction is per bucket, not per tensor, so a parameter that gets a gradient only
 * in some steps would be corrected with its bucket's count (never the case in MERV: its dead fusion
 * parameters never get one).
 */
final class ZeroShard implements AutoCloseable {

    private final int rank;
    private final FlatLayout layout;
    private final NDManager manager;
    final NDArray[] master;
    final NDArray[] expAvg;
    final NDArray[] expAvgSq;
    final NDArray[] gradAcc;
    final long[] steps;
    private final NDArray flat;
    private final NDArray recv;
    private final NDArray reduceFlat;
    private final NDArray reduceRecv;
    private final NDArray gathered;
    private final ScalarType computeType;
    private final ScalarType reduceType;
    final boolean[] hasGrad;
    /** Per bucket: the layer after whose backward all its tensors are final, -1 = only after the whole backward. */
    private final int[] readyAfter;
    /** Per bucket: already reduced in the current micro-batch. */
    private final boolean[] reduced;

    /** Sums gradients across replicas in fp32. */
    ZeroShard(int rank, FlatLayout layout, NDManager parent, ScalarType computeType) {
        this(rank, layout, parent, computeType, ScalarType.FLOAT32);
    }

    /** @param reduceType the dtype gradients are summed across replicas in (fp32 or the compute dtype) */
    ZeroShard(int rank, FlatLayout layout, NDManager parent, ScalarType computeType, ScalarType reduceType) {
        this.rank = rank;
        this.layout = layout;
        this.manager = parent.newSubManager();
        this.computeType = computeType;
        this.reduceType = reduceType;
        int nb = layout.buckets().size();
        master = new NDArray[nb];
        expAvg = new NDArray[nb];
        expAvgSq = new NDArray[nb];
        gradAcc = new NDArray[nb];
        steps = new long[nb];
        for (int b = 0; b < nb; b++) {
            long k = layout.buckets().get(b).piece();
            master[b] = FlatOps.zeros(manager, k, ScalarType.FLOAT32);
            expAvg[b] = FlatOps.zeros(manager, k, ScalarType.FLOAT32);
            expAvgSq[b] = FlatOps.zeros(manager, k, ScalarType.FLOAT32);
            gradAcc[b] = FlatOps.zeros(manager, k, ScalarType.FLOAT32);
        }
        flat = FlatOps.zeros(manager, Math.max(1, layout.maxPadded()), ScalarType.FLOAT32);
        recv = FlatOps.zeros(manager, Math.max(1, layout.maxPiece()), ScalarType.FLOAT32);
        boolean fp32 = reduceType == ScalarType.FLOAT32;
        reduceFlat = fp32 ? flat : FlatOps.zeros(manager, Math.max(1, layout.maxPadded()), reduceType);
        reduceRecv = fp32 ? recv : FlatOps.zeros(manager, Math.max(1, layout.maxPiece()), reduceType);
        gathered = FlatOps.zeros(manager, Math.max(1, layout.maxPadded()), computeType);
        hasGrad = new boolean[layout.entries().size()];
        readyAfter = new int[nb];
        java.util.Arrays.fill(readyAfter, -1);
        reduced = new boolean[nb];
    }

    FlatLayout layout() {
        return layout;
    }

    /** Bytes this shard holds: master + two moments + accumulator per owned element, plus the bucket buffers. */
    long bytes() {
        long reduceBuffers = reduceType == ScalarType.FLOAT32 ? 0
                : (layout.maxPadded() + layout.maxPiece()) * reduceType.bytes();
        return layout.shardElements() * 16 + layout.maxPadded() * (4 + computeType.bytes()) + layout.maxPiece() * 4
                + reduceBuffers;
    }

    /** The dtype gradients are summed across replicas in. */
    ScalarType reduceType() {
        return reduceType;
    }

    /** Fills the owned master pieces from the current parameter values (identical on every replica). */
    void loadMastersFrom(List<Param> params) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            try (NDArray full = FlatOps.slice(flat, 0, b.padded())) {
                FlatOps.zero(full);
                for (FlatLayout.Entry e : b.entries()) {
                    try (NDArray dst = FlatOps.slice(full, e.offset(), e.offset() + e.numel());
                            NDArray src = FlatOps.flatten(params.get(e.id()).get())) {
                        FlatOps.copyInto(dst, src);
                    }
                }
                try (NDArray mine = FlatOps.slice(full, b.pieceStart(rank), b.pieceStart(rank) + b.piece())) {
                    FlatOps.copyInto(master[b.index()], mine);
                }
            }
        }
    }

    void beginStep() {
        for (NDArray g : gradAcc) {
            FlatOps.zero(g);
        }
        java.util.Arrays.fill(hasGrad, false);
    }

    /**
     * Tells the shard which layer of the model's stack gives each trainable tensor (by layout entry id) its
     * whole gradient, -1 for tensors outside the stack: a bucket whose tensors all lie in layers {@code >= i}
     * can be reduced as soon as layer {@code i}'s backward has run ({@link #reduceReady}).
     */
    void layers(int[] entryLayer) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            int ready = Integer.MAX_VALUE;
            for (FlatLayout.Entry e : b.entries()) {
                ready = Math.min(ready, entryLayer[e.id()]);
            }
            readyAfter[b.index()] = ready == Integer.MAX_VALUE ? -1 : ready;
        }
    }

    /**
     * Reduces, while backward still runs, every bucket not yet reduced in this micro-batch whose tensors
     * all have their final gradients once layer {@code layer}'s backward is done (see {@link #layers}). Every
     * replica runs the same layers, so every rank reduces the same buckets in the same order.
     */
    void reduceReady(int layer, List<Param> params, Collective collective) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            int ready = readyAfter[b.index()];
            if (!reduced[b.index()] && ready >= 0 && ready >= layer) {
                reduceBucket(b, params, collective);
            }
        }
    }

    /**
     * Moves this micro-batch's gradients into the owners' fp32 accumulators, bucket by bucket (those
     * {@link #reduceReady} has not already moved), and zeroes the parameters' gradients for the next
     * micro-batch.
     */
    void accumulate(List<Param> params, Collective collective) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            if (!reduced[b.index()]) {
                reduceBucket(b, params, collective);
            }
        }
        java.util.Arrays.fill(reduced, false);
    }

    /** Whether bucket {@code b} was reduced already in the current micro-batch. */
    boolean reducedInThisMicroBatch(int b) {
        return reduced[b];
    }

    /**
     * One bucket's gradients into the flat buffer of the reduce dtype, reduce-scattered (summed across replicas in
     * that dtype), added into the owned fp32 accumulator.
     */
    private void reduceBucket(FlatLayout.Bucket b, List<Param> params, Collective collective) {
        try (NDArray full = FlatOps.slice(reduceFlat, 0, b.padded()); NDArray got = FlatOps.slice(reduceRecv, 0, b.piece())) {
            FlatOps.zero(full);
            for (FlatLayout.Entry e : b.entries()) {
                NDArray value = params.get(e.id()).get();
                PtNDArray grad = JniUtils.getGradient((PtNDArray) value);
                if (grad == null) {
                    continue;
                }
                try (grad; NDArray dst = FlatOps.slice(full, e.offset(), e.offset() + e.numel());
                        NDArray src = FlatOps.flatten(grad)) {
                    FlatOps.copyInto(dst, src);
                    FlatOps.zero(grad);
                }
                hasGrad[e.id()] = true;
            }
            collective.reduceScatterSum(rank, full, got);
            FlatOps.addFrom(gradAcc[b.index()], got);
        }
        reduced[b.index()] = true;
    }

    /** Shares which parameters got a gradient anywhere (torch skips the others). */
    void agreeOnGradients(Collective collective) {
        double[] flags = new double[hasGrad.length];
        for (int i = 0; i < flags.length; i++) {
            flags[i] = hasGrad[i] ? 1 : 0;
        }
        double[] all = collective.allReduceSum(rank, flags);
        for (int i = 0; i < flags.length; i++) {
            hasGrad[i] = all[i] > 0;
        }
    }

    void scaleGradients(double factor) {
        if (factor == 1.0) {
            return;
        }
        for (NDArray g : gradAcc) {
            Torch.mulInPlace(g, factor);
        }
    }

    /**
     * Sum of squared accumulated gradients over the owned pieces (padding is zero) as an fp64 0-dim tensor on
     * the device, owned by {@code scope}: each bucket's fp32 sum widened and added in bucket order, so reading
     * it gives exactly the double a host loop over the buckets' sums would give, with one read instead of one
     * per bucket.
     */
    NDArray localSquaredNorm(NDManager scope) {
        NDArray s = scope.zeros(new Shape(), ai.djl.ndarray.types.DataType.FLOAT64);
        for (NDArray g : gradAcc) {
            try (NDArray sq = g.mul(g); NDArray sum = sq.sum(); NDArray wide = Torch.copy(sum, ScalarType.FLOAT64)) {
                s.addi(wide);
            }
        }
        return s;
    }

    /** One AdamW step over every owned piece at learning rate {@code lr}. */
    void step(AdamW adam, double lr, double weightDecay) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            boolean any = false;
            boolean all = true;
            for (FlatLayout.Entry e : b.entries()) {
                any |= hasGrad[e.id()];
                all &= hasGrad[e.id()];
            }
            if (!any) {
                continue;
            }
            int i = b.index();
            steps[i]++;
            double wd = b.decay() ? weightDecay : 0.0;
            if (all) {
                adam.update(master[i], gradAcc[i], expAvg[i], expAvgSq[i], lr, wd, steps[i]);
                continue;
            }
            // some tensors of this bucket got no gradient: step a copy, then restore their ranges
            try (NDArray p0 = Torch.clone(master[i]); NDArray m0 = Torch.clone(expAvg[i]);
                    NDArray v0 = Torch.clone(expAvgSq[i])) {
                adam.update(master[i], gradAcc[i], expAvg[i], expAvgSq[i], lr, wd, steps[i]);
                long lo = b.pieceStart(rank);
                long hi = lo + b.piece();
                for (FlatLayout.Entry e : b.entries()) {
                    if (hasGrad[e.id()]) {
                        continue;
                    }
                    long s = Math.max(lo, e.offset());
                    long t = Math.min(hi, e.offset() + e.numel());
                    if (s >= t) {
                        continue;
                    }
                    restore(master[i], p0, s - lo, t - lo);
                    restore(expAvg[i], m0, s - lo, t - lo);
                    restore(expAvgSq[i], v0, s - lo, t - lo);
                }
            }
        }
    }

    private static void restore(NDArray dst, NDArray saved, long s, long t) {
        try (NDArray d = FlatOps.slice(dst, s, t); NDArray o = FlatOps.slice(saved, s, t)) {
            FlatOps.copyInto(d, o);
        }
    }

    /**
     * All-gathers the masters in the compute dtype and gives every parameter a fresh tensor (so
     * its gradient starts undefined) owned by {@code weights}.
     */
    void publish(List<Param> params, Collective collective, NDManager weights) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            try (NDArray full = FlatOps.slice(gathered, 0, b.padded());
                    NDArray mine = Torch.copy(master[b.index()], computeType)) {
                collective.allGather(rank, mine, full);
                for (FlatLayout.Entry e : b.entries()) {
                    try (NDArray v = FlatOps.slice(full, e.offset(), e.offset() + e.numel());
                            NDArray shaped = v.reshape(new Shape(e.shape()))) {
                        NDArray fresh = Torch.copy(shaped, computeType);
                        fresh.attach(weights);
                        params.get(e.id()).set(fresh);
                    }
                }
            }
        }
    }

    /** The full fp32 value of every trainable tensor (all ranks take part; every rank gets them). */
    void gatherMasters(Collective collective, java.util.function.BiConsumer<FlatLayout.Entry, NDArray> sink) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            try (NDArray full = FlatOps.slice(flat, 0, b.padded())) {
                collective.allGather(rank, master[b.index()], full);
                for (FlatLayout.Entry e : b.entries()) {
                    try (NDArray v = FlatOps.slice(full, e.offset(), e.offset() + e.numel());
                            NDArray shaped = v.reshape(new Shape(e.shape()))) {
                        sink.accept(e, shaped);
                    }
                }
            }
        }
    }

    /**
     * The full fp32 value of every trainable tensor by name, as host tensors owned by {@code host} (a CPU
     * manager), when {@code keep}; every rank takes part in the gathers, only the keeping rank copies (rank 0
     * writes the checkpoint's weights). Each tensor leaves the device as soon as its bucket is gathered, so
     * the device holds no second fp32 copy of the weights.
     */
    java.util.Map<String, NDArray> gatherMastersToHost(Collective collective, boolean keep, NDManager host) {
        java.util.Map<String, NDArray> out = new java.util.TreeMap<>();
        gatherMasters(collective, (e, v) -> {
            if (keep) {
                // on the CPU the gathered view aliases the reused bucket buffer: copy it
                NDArray c = Transfers.isCpu(v.getDevice()) ? Torch.copy(v, ScalarType.FLOAT32)
                        : Torch.toDevice(v, host, ScalarType.FLOAT32);
                c.attach(host);
                out.put(e.name(), c);
            }
        });
        return out;
    }

    /** The owned pieces keyed as stored in an optimizer shard file. */
    java.util.Map<String, NDArray> stateTensors() {
        java.util.Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        for (int b = 0; b < master.length; b++) {
            out.put("bucket." + b + ".master", master[b]);
            out.put("bucket." + b + ".exp_avg", expAvg[b]);
            out.put("bucket." + b + ".exp_avg_sq", expAvgSq[b]);
        }
        return out;
    }

    /** The three optimizer states of a tensor, in {@link StateReader}'s {@code kind} order. */
    static final String[] STATE_KINDS = {"master", "exp_avg", "exp_avg_sq"};

    /**
     * Where a resuming replica reads optimizer state: elements {@code [from, to)} of trainable tensor
     * {@code name}'s flattened state {@code kind} (0 master, 1 exp_avg, 2 exp_avg_sq, see
     * {@link #STATE_KINDS}) as a 1-D fp32 tensor of {@code to - from} elements, on any device, owned by
     * {@code scope}. A checkpoint-backed reader maps the range to the pieces of the shard files that hold it
     * ({@code SafeTensors.loadRange}), so a replica reads its own piece, never the whole state.
     */
    interface StateReader {
        NDArray read(String name, int kind, long from, long to, NDManager scope);
    }

    /**
     * Refills the owned pieces from full per-tensor state ({@code [master, exp_avg, exp_avg_sq]} by
     * name, any layout) and per-tensor step counts, whatever replica count wrote them.
     */
    void restore(java.util.Map<String, NDArray[]> full, java.util.Map<String, Long> stepCounts) {
        restore((name, kind, from, to, scope) -> {
            NDArray[] st = full.get(name);
            if (st == null) {
                throw new IllegalStateException("checkpoint has no optimizer state for trainable parameter '" + name + "'");
            }
            long n = layout.entries().stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow().numel();
            if (st[kind].getShape().size() != n) {
                throw new IllegalStateException("checkpoint state of '" + name + "' has " + st[kind].getShape().size()
                        + " elements, the model " + n);
            }
            NDArray flatState = FlatOps.flatten(st[kind]);
            flatState.attach(scope);
            NDArray part = FlatOps.slice(flatState, from, to);
            part.attach(scope);
            return part;
        }, stepCounts);
    }

    /**
     * Refills the owned pieces from {@code reader}, asking only for the ranges this rank owns (padding
     * stays zero), and sets each bucket's step count to the largest count among its tensors.
     */
    void restore(StateReader reader, java.util.Map<String, Long> stepCounts) {
        for (FlatLayout.Bucket b : layout.buckets()) {
            long lo = b.pieceStart(rank);
            long hi = lo + b.piece();
            long count = 0;
            for (int kind = 0; kind < 3; kind++) {
                NDArray target = kind == 0 ? master[b.index()] : kind == 1 ? expAvg[b.index()] : expAvgSq[b.index()];
                FlatOps.zero(target);
                for (FlatLayout.Entry e : b.entries()) {
                    long from = Math.max(lo, e.offset());
                    long to = Math.min(hi, e.offset() + e.numel());
                    if (from >= to) {
                        continue;
                    }
                    try (NDManager scope = manager.newSubManager()) {
                        NDArray part = reader.read(e.name(), kind, from - e.offset(), to - e.offset(), scope);
                        if (part.getShape().size() != to - from) {
                            throw new IllegalStateException("optimizer state of '" + e.name() + "' [" + (from - e.offset())
                                    + ", " + (to - e.offset()) + "): got " + part.getShape().size() + " elements");
                        }
                        try (NDArray dst = FlatOps.slice(target, from - lo, to - lo)) {
                            FlatOps.copyInto(dst, part);
                        }
                    }
                }
            }
            for (FlatLayout.Entry e : b.entries()) {
                count = Math.max(count, stepCounts.getOrDefault(e.name(), 0L));
            }
            steps[b.index()] = count;
        }
    }

    @Override
    public void close() {
        manager.close();
    }

    NDManager manager() {
        return manager;
    }

    int rank() {
        return rank;
    }
}
