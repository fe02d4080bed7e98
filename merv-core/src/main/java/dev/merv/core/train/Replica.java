package dev.merv.core.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
            List<String> trainableNames, ScalarType compute) {
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
        this.shard = new ZeroShard(rank, layout, manager, compute);
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
            boolean updated, float[] mixing, double[] microLosses) {}

    StepStats trainStep(BatchSource<B> source, BatchPlan plan, int epoch, long stepInEpoch, double lr,
            TrainConfig cfg, AdamW adam, Collective collective) {
        double lossSum = 0;
        double meanSum = 0;
        long tokens = 0;
        long samples = 0;
        long skipped = 0;
        long loaderNs = 0;
        double[] microLosses = new double[plan.accumulation()];
        shard.beginStep();
        try (NDManager step = manager.newSubManager()) {
            for (int micro = 0; micro < plan.accumulation(); micro++) {
                long t0 = System.nanoTime();
                B batch = source.load(epoch, stepInEpoch, rank, micro, plan, step);
                loaderNs += System.nanoTime() - t0;
                try (batch) {
                    samples += batch.samples();
                    skipped += batch.skippedSamples();
                    long expected = batch.supervisedTokens();
                    double weight = cfg.lossNormalization == LossNormalization.MEAN_OF_MEANS
                            ? (expected > 0 ? 1.0 / expected : 0.0) : 1.0;
                    Backward.Result ls = cfg.recompute ? Backward.recompute(model, batch, weight, step) : Backward.plain(model, batch, weight, step);
                    lossSum += ls.summedValue();
                    tokens += ls.tokens();
                    microLosses[micro] = ls.tokens() > 0 ? ls.summedValue() / ls.tokens() : Double.NaN;
                    if (ls.tokens() > 0) {
                        meanSum += ls.summedValue() / ls.tokens();
                    }
                }
                shard.accumulate(trainable, collective);
            }
        }
        double[] red = collective.allReduceSum(rank, new double[] {lossSum, tokens, meanSum, samples, skipped,
            loaderNs / 1e9});
        shard.agreeOnGradients(collective);
        long totalTokens = (long) red[1];
        int micros = plan.accumulation() * plan.replicas();
        double loss;
        double divisor;
        if (cfg.lossNormalization == LossNormalization.MEAN_OF_MEANS) {
            loss = red[2] / micros;
            divisor = micros;
        } else {
            loss = totalTokens > 0 ? red[0] / totalTokens : Double.NaN;
            divisor = Math.max(1, totalTokens);
        }
        double norm;
        boolean updated = false;
        try (var ng = Torch.noGrad()) {
            shard.scaleGradients(1.0 / divisor);
            double[] sq = collective.allReduceSum(rank, new double[] {shard.localSquaredNorm()});
            float normF = (float) Math.sqrt(sq[0]);
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
        publish(collective);
        float[] mixing = rank == 0 ? model.mixingWeights() : new float[0];
        return new StepStats(loss, totalTokens, (long) red[3], (long) red[4], red[5] / plan.replicas(), norm, updated,
                mixing, microLosses);
    }

    @Override
    public void close() {
        shard.close();
        weights.close();
    }
}
