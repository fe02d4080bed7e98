package dev.merv.data.video;

/**
 * Measures how long one decode has run, for the per-sample decode timeout. The default reads
 * {@link System#nanoTime()}; tests substitute a clock that advances a fixed amount per packet so a
 * timeout is reproducible.
 */
public interface DecodeClock {

    /** Starts timing one decode; the returned timer is used by one thread only. */
    Timer start();

    /** Elapsed time of one decode. */
    interface Timer {
        /** Nanoseconds since {@link DecodeClock#start()}; called once per demuxed packet. */
        long elapsedNanos();
    }

    /** Wall-clock time. */
    DecodeClock SYSTEM = () -> {
        long t0 = System.nanoTime();
        return () -> System.nanoTime() - t0;
    };

    /** A clock on which every reading advances by {@code nanosPerReading}: time = work done. */
    static DecodeClock ticking(long nanosPerReading) {
        return () -> {
            long[] n = {0};
            return () -> (n[0] += nanosPerReading);
        };
    }
}
