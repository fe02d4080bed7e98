package dev.merv.data.video;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import org.slf4j.LoggerFactory;

/**
 * Measures how much one decode has cost, for the per-video decode budget ({@link VideoDecoder.Options#timeoutNanos}).
 * The clock is read once per demuxed packet on the thread that decodes.
 *
 * <p>Why CPU time: a budget in wall-clock time skips videos on a loaded machine (many loader threads, other
 * jobs on the node, a paused VM) that a quiet machine keeps, so which rows train would depend on the load.
 * The default, {@link #THREAD_CPU}, counts only the CPU time of the decoding thread: a thread waiting for a
 * core, for the disk or for a lock costs nothing, and a video is skipped only when decoding it takes too
 * much work. {@link #ticking} counts packets instead (each reading one step), which is exactly the same on
 * every machine; use it where CPU time does not cover the work: with several decoder threads
 * ({@link VideoDecoder.Options#decoderThreads} above 1) FFmpeg decodes on threads of its own, whose time
 * the decoding thread's clock does not see.
 */
public interface DecodeClock {

    /** Starts timing one decode; the returned timer is used by the thread that called {@code start} only. */
    Timer start();

    /** Elapsed cost of one decode. */
    interface Timer {
        /** Nanoseconds (of the clock's kind) since {@link DecodeClock#start()}; called once per demuxed packet. */
        long elapsedNanos();
    }

    /** Wall-clock time (depends on the machine's load; for benchmarks and comparisons). */
    DecodeClock SYSTEM = () -> {
        long t0 = System.nanoTime();
        return () -> System.nanoTime() - t0;
    };

    /**
     * CPU time of the decoding thread ({@link ThreadMXBean#getCurrentThreadCpuTime()}): the default. Where
     * the JVM cannot measure thread CPU time, wall-clock time, with a warning.
     */
    DecodeClock THREAD_CPU = ThreadCpu.clock();

    /** A clock on which every reading advances by {@code nanosPerReading}: time = packets read. */
    static DecodeClock ticking(long nanosPerReading) {
        return () -> {
            long[] n = {0};
            return () -> (n[0] += nanosPerReading);
        };
    }

    /** The CPU-time clock, chosen once. */
    final class ThreadCpu {
        private ThreadCpu() {}

        static DecodeClock clock() {
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            if (!mx.isCurrentThreadCpuTimeSupported()) {
                LoggerFactory.getLogger(DecodeClock.class).warn("this JVM cannot measure thread CPU time; decode budgets"
                        + " are measured in wall-clock time and depend on the machine's load");
                return SYSTEM;
            }
            if (!mx.isThreadCpuTimeEnabled()) {
                mx.setThreadCpuTimeEnabled(true);
            }
            return () -> {
                long t0 = mx.getCurrentThreadCpuTime();
                return () -> mx.getCurrentThreadCpuTime() - t0;
            };
        }
    }
}
