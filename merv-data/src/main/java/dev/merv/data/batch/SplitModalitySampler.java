package dev.merv.data.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The finetune stages' split-modality, length-grouped sampler (docs/reference.md §5.5,
 * LLaVA/Prismatic scheme). Every global batch holds only multimodal rows or only text-only rows,
 * and within a global batch rows are spread over the ranks so each rank's share has a similar total
 * length.
 *
 * <p>Steps per epoch, with one generator seeded {@code seed + epoch}: permute the multimodal rows,
 * then the text-only rows; cut each into chunks of the global batch size G, padding each modality's
 * last chunk with the modality's leading rows; sort each chunk by length (descending) and deal it
 * into W buckets of G/W rows, each row going to the non-full bucket with the smallest total; permute
 * the chunks; swap the chunk with the largest row (multimodal rows counted with
 * {@code multimodalExtra} added) to the front; rank r takes the r-th G/W slice of every chunk.
 *
 * <p>Lengths are whatever the caller measured: the reference's word counts with
 * {@code multimodalExtra = 576} for parity, or token counts that already include the visual tokens
 * with {@code multimodalExtra = 0} (W17). As in the reference each modality is padded separately,
 * so an epoch can hold up to one extra global batch.
 */
public final class SplitModalitySampler implements EpochSampler {

    private final int[] mmRows;
    private final int[] textRows;
    private final int[] lengths;
    private final boolean[] multimodal;
    private final int globalBatch;
    private final int worldSize;
    private final int rank;
    private final long seed;
    private final int multimodalExtra;

    /**
     * @param rows the rows to sample (malformed and known-bad rows left out)
     * @param multimodal per dataset index, whether the row has an image or video
     * @param lengths per dataset index, the row's length
     */
    public SplitModalitySampler(int[] rows, boolean[] multimodal, int[] lengths, int globalBatch, int worldSize,
            int rank, long seed, int multimodalExtra) {
        if (globalBatch <= 0 || worldSize <= 0 || globalBatch % worldSize != 0) {
            throw new IllegalArgumentException("global batch size " + globalBatch + " must be a positive multiple of "
                    + "the world size " + worldSize + " (W19)");
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank " + rank + " of world size " + worldSize);
        }
        this.mmRows = Arrays.stream(rows).filter(i -> multimodal[i]).toArray();
        this.textRows = Arrays.stream(rows).filter(i -> !multimodal[i]).toArray();
        this.lengths = lengths;
        this.multimodal = multimodal;
        this.globalBatch = globalBatch;
        this.worldSize = worldSize;
        this.rank = rank;
        this.seed = seed;
        this.multimodalExtra = multimodalExtra;
    }

    @Override
    public int[] order(int epoch) {
        SplittableRandom rnd = SeededShuffle.forEpoch(seed, epoch);
        int[] mm = mmRows.clone();
        SeededShuffle.shuffle(mm, rnd);
        int[] text = textRows.clone();
        SeededShuffle.shuffle(text, rnd);
        List<int[]> chunks = new ArrayList<>();
        chunk(mm, chunks);
        chunk(text, chunks);
        SeededShuffle.shuffle(chunks, rnd);
        if (chunks.isEmpty()) {
            return new int[0];
        }
        int best = 0;
        long bestLen = Long.MIN_VALUE;
        for (int c = 0; c < chunks.size(); c++) {
            for (int i : chunks.get(c)) {
                long l = effective(i);
                if (l > bestLen) {
                    bestLen = l;
                    best = c;
                }
            }
        }
        int[] first = chunks.get(0);
        chunks.set(0, chunks.get(best));
        chunks.set(best, first);
        int per = globalBatch / worldSize;
        int[] out = new int[chunks.size() * per];
        for (int c = 0; c < chunks.size(); c++) {
            System.arraycopy(chunks.get(c), rank * per, out, c * per, per);
        }
        return out;
    }

    /** Global batches per epoch (both modalities padded separately). */
    public int globalBatches() {
        return ceilDiv(mmRows.length, globalBatch) + ceilDiv(textRows.length, globalBatch);
    }

    private long effective(int i) {
        return lengths[i] + (multimodal[i] ? (long) multimodalExtra : 0);
    }

    private void chunk(int[] perm, List<int[]> out) {
        if (perm.length == 0) {
            return;
        }
        int n = ceilDiv(perm.length, globalBatch);
        for (int c = 0; c < n; c++) {
            int[] chunk = new int[globalBatch];
            for (int k = 0; k < globalBatch; k++) {
                // the last chunk is padded with the modality's leading rows (cyclically if it is tiny)
                chunk[k] = perm[(c * globalBatch + k) % perm.length];
            }
            out.add(balance(chunk));
        }
    }

    /** Sort by length descending, deal greedily into W equal-size buckets, concatenate. */
    private int[] balance(int[] chunk) {
        Integer[] sorted = Arrays.stream(chunk).boxed().toArray(Integer[]::new);
        Arrays.sort(sorted, Comparator.comparingInt((Integer i) -> lengths[i]).reversed());
        int per = globalBatch / worldSize;
        int[][] buckets = new int[worldSize][per];
        int[] fill = new int[worldSize];
        long[] total = new long[worldSize];
        for (int i : sorted) {
            int b = -1;
            for (int k = 0; k < worldSize; k++) {
                if (fill[k] < per && (b < 0 || total[k] < total[b])) {
                    b = k;
                }
            }
            buckets[b][fill[b]++] = i;
            total[b] += lengths[i];
        }
        int[] out = new int[globalBatch];
        for (int k = 0; k < worldSize; k++) {
            System.arraycopy(buckets[k], 0, out, k * per, per);
        }
        return out;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
