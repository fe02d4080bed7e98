package dev.merv.data.batch;

import java.util.SplittableRandom;

/**
 * The align stages' sampler (docs/reference.md §5.5, a distributed sampler): permute the usable
 * rows with a generator seeded {@code seed + epoch}, pad to a multiple of the world size by
 * repeating leading rows, and give rank {@code r} every {@code W}-th row starting at {@code r}.
 */
public final class ShuffleSampler implements EpochSampler {

    private final int[] rows;
    private final long seed;
    private final int worldSize;
    private final int rank;

    /**
     * @param rows the rows to sample (malformed rows and rows a check already rejected left out)
     */
    public ShuffleSampler(int[] rows, long seed, int worldSize, int rank) {
        if (worldSize <= 0 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " of world size " + worldSize);
        }
        this.rows = rows.clone();
        this.seed = seed;
        this.worldSize = worldSize;
        this.rank = rank;
    }

    @Override
    public int[] order(int epoch) {
        if (rows.length == 0) {
            return new int[0];
        }
        int[] perm = rows.clone();
        SplittableRandom rnd = SeededShuffle.forEpoch(seed, epoch);
        SeededShuffle.shuffle(perm, rnd);
        int total = (perm.length + worldSize - 1) / worldSize * worldSize;
        int[] out = new int[total / worldSize];
        for (int k = 0, i = rank; i < total; i += worldSize, k++) {
            out[k] = perm[i % perm.length];
        }
        return out;
    }
}
