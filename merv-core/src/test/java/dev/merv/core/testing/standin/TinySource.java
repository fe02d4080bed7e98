package dev.merv.core.testing.standin;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.BatchSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A deterministic synthetic data set of {@code size} sequences of length {@code seqLen}: each row
 * has a random prompt length whose labels are -100 (so supervised-token counts differ between rows
 * and token weighting matters), shuffled per epoch with {@code seed + epoch}. Global batch {@code s}
 * of an epoch is rows {@code [s*G, (s+1)*G)} of the permutation; replica {@code r} takes its
 * contiguous {@code G/N} slice and cuts it into micro-batches.
 */
public final class TinySource implements BatchSource<TinyBatch> {

    public final int size;
    public final int seqLen;
    public final int vocab;
    public final long seed;
    public final long[][] ids;
    public final long[][] labels;

    public TinySource(int size, int seqLen, int vocab, long seed) {
        this.size = size;
        this.seqLen = seqLen;
        this.vocab = vocab;
        this.seed = seed;
        ids = new long[size][seqLen];
        labels = new long[size][seqLen];
        for (int i = 0; i < size; i++) {
            Random r = new Random(seed * 1000003L + i);
            int prompt = 1 + r.nextInt(seqLen - 2);
            int len = prompt + 1 + r.nextInt(seqLen - prompt);
            for (int t = 0; t < seqLen; t++) {
                ids[i][t] = t < len ? 1 + r.nextInt(vocab - 1) : 0;
                labels[i][t] = t >= prompt && t < len ? ids[i][t] : -100;
            }
        }
    }

    @Override
    public long stepsPerEpoch(int epoch, BatchPlan plan) {
        return size / plan.globalBatch();
    }

    public List<Integer> permutation(int epoch) {
        List<Integer> p = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            p.add(i);
        }
        Collections.shuffle(p, new Random(seed + epoch));
        return p;
    }

    @Override
    public TinyBatch load(int epoch, long stepInEpoch, int rank, int micro, BatchPlan plan, NDManager manager) {
        List<Integer> perm = permutation(epoch);
        int start = (int) (stepInEpoch * plan.globalBatch() + (long) rank * plan.perReplica() + (long) micro * plan.perDeviceBatch());
        int b = plan.perDeviceBatch();
        long[] flatIds = new long[b * seqLen];
        long[] flatLabels = new long[b * seqLen];
        long tokens = 0;
        for (int i = 0; i < b; i++) {
            int row = perm.get(start + i);
            System.arraycopy(ids[row], 0, flatIds, i * seqLen, seqLen);
            System.arraycopy(labels[row], 0, flatLabels, i * seqLen, seqLen);
            for (int t = 1; t < seqLen; t++) {
                if (labels[row][t] != -100) {
                    tokens++;
                }
            }
        }
        NDManager m = manager.newSubManager();
        return new TinyBatch(m.create(flatIds, new Shape(b, seqLen)), m.create(flatLabels, new Shape(b, seqLen)), tokens, b, m);
    }
}
