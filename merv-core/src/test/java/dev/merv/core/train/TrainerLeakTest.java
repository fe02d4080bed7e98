package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyLm;
import dev.merv.core.testing.standin.TinyBatch;
import dev.merv.core.testing.standin.TinySource;
import dev.merv.core.model.Precision;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 2,000 optimizer steps of a tiny model (accumulation, recomputation, bf16 compute, sharded
 * optimizer, metrics and a checkpoint): the number of live NDArrays is exactly constant and native
 * memory in use (glibc mallinfo2) does not trend upward. The JVM's own malloc traffic (JIT, I/O)
 * moves mallinfo2 by tens of MB, so the native check is a bound: the late minimum may not exceed
 * the early maximum by 2 MB, i.e. no leak of 1 KB or more per step (a weight-, gradient- or
 * activation-sized tensor of this model is 4 KB or more); leaked handles are caught by the exact
 * array count.
 */
class TrainerLeakTest {

    @TempDir
    Path root;

    @Test
    void nativeMemoryAndLiveArraysStayFlatOver2000Steps() {
        int steps = 2000;
        TrainConfig c = TrainerTesting.config(root, "leak", 2, 1, "cpu", steps);
        c.bucketCapElements = 4096;
        c.recompute = true;
        c.precision = Precision.BF16;
        c.saveCheckpointAfter = 1000;
        c.keepCheckpoints = 1;
        TinySource src = new TinySource(8, 8, 64, 3);
        List<long[]> samples = new ArrayList<>();
        // tiny ops: one intra-op thread avoids OpenMP hand-offs dominating the step on a shared machine
        ai.djl.engine.Engine.getInstance();
        int threads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
        ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
        try (Trainer<TinyBatch> t = new Trainer<>(c, (r, d, m) -> new TinyLm(64, 32, 2, 2, 32).init(1, m), src, null)) {
            t.onStep(rec -> {
                if (rec.step() % 100 == 0) {
                    samples.add(new long[] {rec.step(), NativeMemory.mallocInUse(), t.liveArrays()});
                }
            });
            long t0 = System.nanoTime();
            List<StepRecord> h = t.run();
            double secs = (System.nanoTime() - t0) / 1e9;
            assertThat(h).hasSize(steps);
            System.out.printf("leak test: %d steps in %.1f s%n", steps, secs);
        } finally {
            ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
        }
        long earlyMax = Long.MIN_VALUE;
        long lateMin = Long.MAX_VALUE;
        for (long[] s : samples) {
            System.out.printf("step %5d  malloc in use %10d  live arrays %d%n", s[0], s[1], s[2]);
            assertThat(s[2]).as("live NDArrays at step %d", s[0]).isEqualTo(samples.get(0)[2]);
            if (s[0] >= 300 && s[0] <= 1000) {
                earlyMax = Math.max(earlyMax, s[1]);
            }
            if (s[0] >= 1600) {
                lateMin = Math.min(lateMin, s[1]);
            }
        }
        assertThat(lateMin - earlyMax).as("native bytes in use, late minimum minus early maximum").isLessThan(2L << 20);
    }
}
