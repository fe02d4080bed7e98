package dev.merv.data.video;

import java.util.Locale;

/**
 * Which part of a video a question is about, as the reference's evaluation benchmarks give it: a
 * {@code time: [start, end]} window in seconds and/or an {@code end_frame}. The reference's loader
 * samples the {@code K} decoded frames inside it ({@link FrameSampling#indices}).
 *
 * @param startSec window start in seconds; null or NaN = 0 (the reference treats a NaN bound as absent)
 * @param endSec window end in seconds; null or NaN = the end of the video
 * @param endFrame last frame to sample up to; null or negative = none. Where given it wins over the
 *     seconds (the reference's loader checks it first)
 */
public record ClipWindow(Double startSec, Double endSec, Integer endFrame) {

    /** The whole video: what training samples. */
    public static final ClipWindow WHOLE = new ClipWindow(null, null, null);

    public ClipWindow {
        startSec = startSec == null || startSec.isNaN() ? null : startSec;
        endSec = endSec == null || endSec.isNaN() ? null : endSec;
        endFrame = endFrame == null || endFrame < 0 ? null : endFrame;
        if (startSec != null && (startSec.isInfinite() || startSec < 0)) {
            throw new IllegalArgumentException("clip start " + startSec + " s must be a non-negative number of seconds");
        }
        if (endSec != null && endSec.isInfinite()) {
            throw new IllegalArgumentException("clip end " + endSec + " s must be a finite number of seconds");
        }
    }

    /** A {@code time: [start, end]} window in seconds. */
    public static ClipWindow seconds(double start, double end) {
        return new ClipWindow(start, end, null);
    }

    /** {@code linspace(0, min(N-1, endFrame), K)}. */
    public static ClipWindow upToFrame(int endFrame) {
        return new ClipWindow(null, null, endFrame);
    }

    /** Whether this window selects what training samples (the whole video). */
    public boolean whole() {
        return startSec == null && endSec == null && endFrame == null;
    }

    /** The same window with {@code end_frame} dropped (the reference's MCQ script never passes it on). */
    public ClipWindow withoutEndFrame() {
        return new ClipWindow(startSec, endSec, null);
    }

    @Override
    public String toString() {
        if (whole()) {
            return "whole video";
        }
        StringBuilder sb = new StringBuilder();
        if (startSec != null || endSec != null) {
            sb.append(String.format(Locale.ROOT, "time [%s, %s] s", startSec == null ? "0" : startSec,
                    endSec == null ? "end" : endSec));
        }
        if (endFrame != null) {
            sb.append(sb.length() > 0 ? ", " : "").append("end_frame ").append(endFrame);
        }
        return sb.toString();
    }
}
