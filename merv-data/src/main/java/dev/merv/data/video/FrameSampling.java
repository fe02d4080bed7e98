package dev.merv.data.video;

/**
 * The reference's frame-sampling rule (docs/reference.md §2.4, §5.3): decode {@code K =
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
     * The frames the reference's loader samples from a clip window of a video with {@code n} frames at
     * {@code avgFps}: with an {@code end_frame}, {@code linspace(0, min(n-1, end_frame), k)}; otherwise
     * {@code linspace(start*fps, min(n-1, end*fps - 1), k)} with start 0 and end {@code n/fps} by
     * default ({@link #videoIndices} is the whole-video case). Every index must be a frame of the video:
     * a window that starts past the end (or ends before its start so that an index falls below 0) fails
     * naming the window and the frame, where the reference's decoder would fail on the batch.
     */
    public static int[] indices(int n, double avgFps, int k, ClipWindow window) {
        if (n <= 0) {
            throw new IllegalArgumentException("a video with " + n + " frames has nothing to sample");
        }
        if (window == null || window.whole()) {
            return videoIndices(n, avgFps, k);
        }
        int[] idx;
        if (window.endFrame() != null) {
            idx = linspaceInt(0, Math.min(n - 1, (double) window.endFrame()), k);
        } else {
            if (!(avgFps > 0) || !Double.isFinite(avgFps)) {
                throw new IllegalArgumentException("clip window " + window + ": the video's frame rate is unknown ("
                        + avgFps + "), so seconds cannot be mapped to frames");
            }
            double start = window.startSec() == null ? 0 : window.startSec();
            double end = window.endSec() == null ? n / avgFps : window.endSec();
            idx = linspaceInt(start * avgFps, Math.min(n - 1, end * avgFps - 1), k);
        }
        for (int i : idx) {
            if (i < 0 || i >= n) {
                throw new IllegalArgumentException("clip window " + window + " selects frame " + i + " of a " + n
                        + "-frame video at " + avgFps + " fps");
            }
        }
        return idx;
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
