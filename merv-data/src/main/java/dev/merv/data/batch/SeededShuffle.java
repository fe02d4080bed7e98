package dev.merv.data.batch;

import java.util.SplittableRandom;

/**
 * Deterministic permutations from a 64-bit seed (Fisher-Yates over {@link SplittableRandom}). The
 * reference draws its permutations from a torch generator; the orders differ from the reference's,
 * only their determinism and distribution matter.
 */
final class SeededShuffle {

    private SeededShuffle() {}

    static void shuffle(int[] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    static <T> void shuffle(java.util.List<T> a, SplittableRandom rnd) {
        for (int i = a.size() - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            T t = a.get(i);
            a.set(i, a.get(j));
            a.set(j, t);
        }
    }

    /** The generator for {@code seed + epoch}, as the reference seeds its sampler generator. */
    static SplittableRandom forEpoch(long seed, int epoch) {
        return new SplittableRandom(seed + epoch);
    }
}
