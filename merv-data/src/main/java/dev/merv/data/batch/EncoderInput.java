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

    /** Values per transformed clip: {@code numFrames * 3 * height * width}. */
    public int clipValues() {
        return Math.toIntExact(transform.values(numFrames));
    }

    /** Shape of one transformed clip as the transform lays it out. */
    public long[] clipShape() {
        int h = transform.height();
        int w = transform.width();
        return transform.layout() == FrameTransform.Layout.CTHW ? new long[] {3, numFrames, h, w}
                : new long[] {numFrames, 3, h, w};
    }
}
