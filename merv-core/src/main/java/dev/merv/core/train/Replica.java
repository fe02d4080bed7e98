package dev.merv.core.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One data-parallel replica: a model instance on one device, driven by one worker thread, with its
 * {@link ZeroShard} of the optimizer. Everything here runs on that thread.
 */
final class Replica<B extends MicroBatch> implements AutoCloseable {

    /** Reduce finished layers' buckets during backward (tests switch it off to compare with the end-only order). */
    static volatile boolean overlapReduction = true;

    final int rank;
    final Device device;
    final NDManager manager;
    final TrainableModel<B> model;
    final List<Param> trainable;
    final List<String> trainableNames;
    final ZeroShard shard;
    private NDManager weights;
    private final ScalarType compute;

    Replica(int rank, Device device, NDManager manager, TrainableModel<B> model, FlatLayout layout,
            List<String> trainableNames, ScalarType compute, ScalarType reduce) {
        this.rank = rank;
        this.device = device;
        this.manager = manager;
        this.model = model;
        this.compute = compute;
        this.trainableNames = trainableNames;
        Map<String, Param> all = model.parameters();
        this.trainable = new ArrayList<>();
        for (String n : trainableNames) {
            Param p = all.get(n);
            if (p == null) {
                throw new IllegalStateException("replica " + rank + ": model has no parameter '" + n + "'");
            }
            trainable.add(p);
        }
        this.shard = new ZeroShard(rank, layout, manager, compute, reduce);
        TrainableModel.Layered<B> layered = model.layered();
        int[] entryLayer = new int[layout.entries().size()];
        for (FlatLayout.Entry e : layout.entries()) {
            entryLayer[e.id()] = layered == null ? -1 : layered.layerOf(e.name());
        }
        shard.layers(entryLayer);
        this.weights = manager.newSubManager();
    }

    /** Holds frozen floating weights in the compute dtype (encoders in bf16 as the reference does). */
    void castFrozen() {
        for (Param p : model.parameters().values()) {
            if (p.trainable() || !p.isSet()) {
                continue;
            }
            ScalarType t = p.dtype();
            if (t.isFloating() && t != compute) {
                NDArray c;
                try (var ng = Torch.noGrad()) {
                    c = Torch.copy(p.get(), compute);
                }
                c.attach(p.get().getManager());
                p.set(c);
            }
        }
    }

    /** Makes every replica start from rank 0's trainable weights, then fills masters and compute copies. */
    void initialise(Collective collective) {
        try (var ng = Torch.noGrad()) {
            for (Param p : trainable) {
                NDArray v = p.get();
                if (Torch.dtype(v) != ScalarType.FLOAT32) {
                    throw new IllegalStateException("trainable parameter '" + p.name() + "' must be loaded in fp32 (masters),"
                            + " got " + Torch.dtype(v));
                }
                try (NDArray flat = FlatOps.flatten(v)) {
                    collective.broadcast(rank, flat, 0);
                }
            }
            shard.loadMastersFrom(trainable);
            publish(collective);
        }
    }

    /** Recreates compute copies from the masters (a fresh generation manager each time). */
    void publish(Collective collective) {
        NDManager next = manager.newSubManager();
        try (var ng = Torch.noGrad()) {
            shard.publish(trainable, collective, next);
        }
        weights.close();
        weights = next;
    }

    /**
     * What one replica reports about one optimizer step (identical on every rank after reduction, except
     * {@code microLosses}: this replica's micro-batch losses, each a mean over its supervised tokens, NaN
     * for a micro-batch without any, as the reference logs them on rank 0).
     */
    record StepStats(double loss, long tokens, long samples, long skippedSamples, double loaderWaitS, double gradNorm,
            boolean updated, float[] mixing, double[] microLosses, long cacheLookups, long cacheHits) {}

    /**
     * One optimizer step on this replica. Nothing is read back from the device while micro-batches train:
     * their summed losses are added up on the device in fp64, the supervised-token counts come from the loader
     * (host), and the step's loss sums and squared gradient norm leave the device together, once, after the
     * gradients are reduced.
     */
    StepStats trainStep(BatchSource<B> source, BatchPlan plan, int epoch, long stepInEpoch, double lr,
            TrainConfig cfg, AdamW adam, Collective collective) {
        long tokens = 0;
        long samples = 0;
        long skipped = 0;
        long lookups = 0;
        long hits = 0;
        long loaderNs = 0;
        double loaderS;
        double loss;
        double norm;
        boolean updated = false;
        // each micro-batch's own mean loss (the reference's smoothed and raw loss metrics); NaN without tokens
        double[] microLosses = new double[plan.accumulation()];
        NDArray[] microMeans = new NDArray[plan.accumulation()];
        shard.beginStep();
        try (NDManager step = manager.newSubManager()) {
            NDArray lossSum = step.zeros(new Shape(), DataType.FLOAT64);
            NDArray meanSum = step.zeros(new Shape(), DataType.FLOAT64);
            for (int micro = 0; micro < plan.accumulation(); micro++) {
                long t0 = System.nanoTime();
                B batch = source.load(epoch, stepInEpoch, rank, micro, plan, step);
                loaderNs += System.nanoTime() - t0;
                prefetchNext(source, plan, epoch, stepInEpoch, micro);
                try (batch) {
                    samples += batch.samples();
                    skipped += batch.skippedSamples();
                    lookups += batch.cacheLookups();
                    hits += batch.cacheHits();
                    long expected = batch.supervisedTokens();
                    double weight = cfg.lossNormalization == LossNormalization.MEAN_OF_MEANS
                            ? (expected > 0 ? 1.0 / expected : 0.0) : 1.0;
                    // with recomputation, buckets of finished layers are reduced while the layers below run backward
                    Backward.Result ls = cfg.recompute
                            ? Backward.recompute(model, batch, weight, step, layer -> {
                                if (overlapReduction) {
                                    shard.reduceReady(layer, trainable, collective);
                                }
                            })
                            : Backward.plain(model, batch, weight, step);
                    try (NDArray v = ls.summed()) {
                        lossSum.addi(v);
                        if (ls.tokens() > 0) {
                            try (NDArray n = Torch.scalar(step, ls.tokens(), ScalarType.FLOAT32)) {
                                NDArray q = v.div(n);
                                meanSum.addi(q);
                                microMeans[micro] = q;
                            }
                        }
                    }
                    tokens += ls.tokens();
                }
                shard.accumulate(trainable, collective);
            }
            double[] red = collective.allReduceSum(rank, new double[] {tokens, samples, skipped, loaderNs / 1e9, lookups,
                hits});
            shard.agreeOnGradients(collective);
            long totalTokens = (long) red[0];
            samples = (long) red[1];
            skipped = (long) red[2];
            loaderS = red[3];
            lookups = (long) red[4];
            hits = (long) red[5];
            tokens = totalTokens;
            int micros = plan.accumulation() * plan.replicas();
            double divisor = cfg.lossNormalization == LossNormalization.MEAN_OF_MEANS ? micros : Math.max(1, totalTokens);
            try (var ng = Torch.noGrad()) {
                shard.scaleGradients(1.0 / divisor);
                double[] local;
                NDList parts = new NDList(lossSum, meanSum);
                for (NDArray q : microMeans) {
                    if (q != null) {
                        parts.add(q.toType(DataType.FLOAT64, false));
                    }
                }
                try (NDArray sq = shard.localSquaredNorm(step)) {
                    parts.add(2, sq);
                    try (NDArray all = NDArrays.stack(parts)) {
                        local = all.toDoubleArray(); // the step's one device-to-host read
                    }
                }
                for (int i = 0, k = 3; i < microMeans.length; i++) {
                    microLosses[i] = microMeans[i] == null ? Double.NaN : local[k++];
                }
                double[] sums = collective.allReduceSum(rank, java.util.Arrays.copyOf(local, 3));
                if (cfg.lossNormalization == LossNormalization.MEAN_OF_MEANS) {
                    loss = sums[1] / micros;
                } else {
                    loss = totalTokens > 0 ? sums[0] / totalTokens : Double.NaN;
                }
                float normF = (float) Math.sqrt(sums[2]);
                norm = normF;
                if (Double.isFinite(loss) && Float.isFinite(normF)) {
                    float coef = GradClip.coefficient(normF, cfg.maxGradNorm);
                    if (coef < 1f) {
                        shard.scaleGradients(coef);
                    }
                    shard.step(adam, lr, cfg.weightDecay);
                    updated = true;
                }
            }
        }
        publish(collective);
        float[] mixing = rank == 0 ? model.mixingWeights() : new float[0];
        return new StepStats(loss, tokens, samples, skipped, loaderS / plan.replicas(), norm, updated, mixing, microLosses,
                lookups, hits);
    }

    /** Tells the source which micro-batch this replica loads after {@code micro} (the next step's first after the last). */
    private void prefetchNext(BatchSource<B> source, BatchPlan plan, int epoch, long stepInEpoch, int micro) {
        if (micro + 1 < plan.accumulation()) {
            source.prefetch(epoch, stepInEpoch, rank, micro + 1, plan);
        } else if (stepInEpoch + 1 < source.stepsPerEpoch(epoch, plan)) {
            source.prefetch(epoch, stepInEpoch + 1, rank, 0, plan);
        } else {
            source.prefetch(epoch + 1, 0, rank, 0, plan);
        }
    }

    @Override
    public void close() {
        shard.close();
        weights.close();
    }
}
