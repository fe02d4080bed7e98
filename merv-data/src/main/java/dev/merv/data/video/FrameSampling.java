package dev.merv.data.video;

/**
 * The reference's frame-sampling rule (merv-reference.md §2.4, §5.3): decode {@code K =
 * max(num_frames)} evenly spaced frames once; encoder {@code i} then takes every
 * {@code K / num_frames[i]}-th decoded frame starting at 0.
 */
public final class FrameSampling {

    private FrameSampling() {}

    /**
     * Frame indices of a regular video file with {@code n} frames at average rate {@code avgFps}:
     * {@code linspace(0, min(n-1, (n/avgFps)*avgFps - 1), k)} truncated toward zero. The stop value
     * is computed in double precision exactly as the reference does, because {@code (n/fps)*fps - 1}
     * can land just below {@code n-1} and shift a truncated index by one. A non-positive or unknown
     * {@code avgFps} uses {@code n-1} as the stop.
     */
    public static int[] videoIndices(int n, double avgFps, int k) {
        if (n <= 0) {
            throw new IllegalArgumentException("a video with " + n + " frames has nothing to sample");
        }
        double stop = n - 1;
        if (avgFps > 0 && Double.isFinite(avgFps)) {
            double totalSecs = n / avgFps;
            stop = Math.min(n - 1, totalSecs * avgFps - 1);
        }
        return linspaceInt(0, stop, k);
    }

    /**
     * {@code numpy.linspace(start, stop, num).astype(int)}: {@code value_k = k*step + start} with
     * {@code step = (stop-start)/(num-1)}, the last value set exactly to {@code stop}, then truncated
     * toward zero.
     */
    public static int[] linspaceInt(double start, double stop, int num) {
        if (num <= 0) {
            return new int[0];
        }
        int[] out = new int[num];
        if (num == 1) {
            out[0] = (int) start;
            return out;
        }
        int div = num - 1;
        double delta = stop - start;
        double step = delta / div;
        for (int i = 0; i < num; i++) {
            double v = step == 0 ? (i / (double) div) * delta + start : i * step + start;
            out[i] = (int) v;
        }
        out[num - 1] = (int) stop;
        return out;
    }

    /** Stride of an encoder taking {@code numFrames} of {@code maxFrames} decoded frames (integer division). */
    public static int stride(int maxFrames, int numFrames) {
        return maxFrames / numFrames;
    }

    /**
     * Positions in the decoded clip an encoder takes: {@code range(0, maxFrames, stride)} like
     * Python's {@code video[::stride]}. Fails when that does not yield exactly {@code numFrames}
     * frames (the reference would silently feed the encoder a different count).
     */
    public static int[] encoderPositions(int maxFrames, int numFrames) {
        if (numFrames <= 0 || numFrames > maxFrames) {
            throw new IllegalArgumentException("num_frames " + numFrames + " must be in 1.." + maxFrames);
        }
        int stride = stride(maxFrames, numFrames);
        int count = (maxFrames + stride - 1) / stride;
        if (count != numFrames) {
            throw new IllegalArgumentException("num_frames " + numFrames + " with max(num_frames) " + maxFrames
                    + " gives stride " + stride + " and " + count + " frames, not " + numFrames
                    + "; num_frames must divide max(num_frames)");
        }
        int[] pos = new int[numFrames];
        for (int i = 0; i < numFrames; i++) {
            pos[i] = i * stride;
        }
        return pos;
    }
}
