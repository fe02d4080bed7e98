package dev.merv.data.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SamplerTest {

    static final int N = 103;
    static final boolean[] MM = new boolean[N];
    static final int[] LEN = new int[N];

    static {
        Random r = new Random(1);
        for (int i = 0; i < N; i++) {
            MM[i] = i % 3 != 0;
            LEN[i] = 5 + r.nextInt(200);
        }
    }

    static int[] allRows() {
        return IntStream.range(0, N).toArray();
    }

    @Test
    void globalBatchesAreSingleModalityAndRanksSplitThem() {
        int g = 8;
        int w = 2;
        int[][] ranks = new int[w][];
        for (int r = 0; r < w; r++) {
            ranks[r] = new SplitModalitySampler(allRows(), MM, LEN, g, w, r, 7, 576).order(0);
        }
        int per = g / w;
        int nmm = (int) IntStream.range(0, N).filter(i -> MM[i]).count();
        int batches = (nmm + g - 1) / g + (N - nmm + g - 1) / g;
        assertThat(ranks[0]).hasSize(batches * per);
        Map<Integer, Integer> seen = new HashMap<>();
        for (int c = 0; c < batches; c++) {
            List<Integer> global = new ArrayList<>();
            for (int r = 0; r < w; r++) {
                for (int k = 0; k < per; k++) {
                    global.add(ranks[r][c * per + k]);
                }
            }
            boolean mm = MM[global.get(0)];
            assertThat(global).allMatch(i -> MM[i] == mm);
            global.forEach(i -> seen.merge(i, 1, Integer::sum));
        }
        // every row at least once; only the modality padding repeats rows
        assertThat(seen.keySet()).hasSize(N);
        int repeats = seen.values().stream().mapToInt(v -> v - 1).sum();
        assertThat(repeats).isEqualTo(batches * g - N);
        // the longest row (multimodal rows counted with the extra) leads the epoch
        long longest = IntStream.range(0, N).mapToLong(i -> LEN[i] + (MM[i] ? 576L : 0)).max().orElseThrow();
        long firstBatchMax = 0;
        for (int r = 0; r < w; r++) {
            for (int k = 0; k < per; k++) {
                int i = ranks[r][k];
                firstBatchMax = Math.max(firstBatchMax, LEN[i] + (MM[i] ? 576L : 0));
            }
        }
        assertThat(firstBatchMax).isEqualTo(longest);
    }

    @Test
    void bucketsBalanceLengthsGreedily() {
        // one chunk of 4 rows, 2 ranks: lengths 10, 9, 2, 1 -> {10, 1} and {9, 2}
        int[] len = {10, 9, 2, 1};
        boolean[] mm = {true, true, true, true};
        int[] r0 = new SplitModalitySampler(new int[] {0, 1, 2, 3}, mm, len, 4, 2, 0, 3, 0).order(0);
        int[] r1 = new SplitModalitySampler(new int[] {0, 1, 2, 3}, mm, len, 4, 2, 1, 3, 0).order(0);
        assertThat(r0).containsExactly(0, 3);
        assertThat(r1).containsExactly(1, 2);
    }

    @Test
    void deterministicPerSeedAndEpochAndShuffledAcrossEpochs() {
        SplitModalitySampler a = new SplitModalitySampler(allRows(), MM, LEN, 8, 1, 0, 7, 576);
        SplitModalitySampler b = new SplitModalitySampler(allRows(), MM, LEN, 8, 1, 0, 7, 576);
        assertThat(a.order(3)).containsExactly(b.order(3));
        assertThat(a.order(0)).isNotEqualTo(a.order(1));
        assertThat(a.order(0)).isNotEqualTo(new SplitModalitySampler(allRows(), MM, LEN, 8, 1, 0, 8, 576).order(0));
    }

    @Test
    void excludedRowsAreNeverSampled() {
        int[] rows = IntStream.range(0, N).filter(i -> i % 10 != 4).toArray();
        Set<Integer> seen = new HashSet<>();
        for (int e = 0; e < 3; e++) {
            Arrays.stream(new SplitModalitySampler(rows, MM, LEN, 8, 1, 0, 7, 0).order(e)).forEach(seen::add);
            Arrays.stream(new ShuffleSampler(rows, 7, 1, 0).order(e)).forEach(seen::add);
        }
        assertThat(seen).noneMatch(i -> i % 10 == 4).hasSize(rows.length);
    }

    @Test
    void shuffleSamplerPadsAndStridesLikeADistributedSampler() {
        int[] rows = IntStream.range(0, 10).toArray();
        int[] r0 = new ShuffleSampler(rows, 7, 3, 0).order(0);
        int[] r1 = new ShuffleSampler(rows, 7, 3, 1).order(0);
        int[] r2 = new ShuffleSampler(rows, 7, 3, 2).order(0);
        assertThat(r0).hasSize(4);
        assertThat(r1).hasSize(4);
        assertThat(r2).hasSize(4);
        Set<Integer> all = new HashSet<>();
        for (int[] r : new int[][] {r0, r1, r2}) {
            Arrays.stream(r).forEach(all::add);
        }
        assertThat(all).hasSize(10);
        // the padding repeats the permutation's leading rows: rank 1 and 2's last rows are its first two
        assertThat(r1[3]).isEqualTo(r0[0]);
        assertThat(r2[3]).isEqualTo(r1[0]);
        assertThat(new ShuffleSampler(rows, 7, 3, 0).order(1)).isNotEqualTo(r0);
    }

    @Test
    void batchSizesMustDivide() {
        assertThatThrownBy(() -> new SplitModalitySampler(allRows(), MM, LEN, 6, 4, 0, 1, 0))
                .hasMessageContaining("W19");
    }
}
