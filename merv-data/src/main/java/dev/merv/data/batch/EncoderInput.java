package dev.merv.data.batch;

import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.VideoEncoder;

/**
 * What the data path needs of one encoder: a name (for messages), how many frames it takes, and
 * its transform.
 */
public record EncoderInput(String name, int numFrames, FrameTransform transform) {

    public static EncoderInput of(VideoEncoder encoder) {
        return new EncoderInput(encoder.id(), encoder.numFrames(), encoder.transform());
    }

    /** Values per transformed clip: {@code numFrames * 3 * size * size}. */
    public int clipValues() {
        int s = transform.size();
        return numFrames * 3 * s * s;
    }

    /** Shape of one transformed clip as the transform lays it out. */
    public long[] clipShape() {
        int s = transform.size();
        return transform.layout() == FrameTransform.Layout.CTHW ? new long[] {3, numFrames, s, s}
                : new long[] {numFrames, 3, s, s};
    }
}
