package dev.merv.core.model;

/**
 * One decoded RGB frame: {@code height x width x 3} bytes, row-major, no padding. Produced by the
 * data module's decoders and consumed by each encoder's {@link FrameTransform}.
 */
public record Frame(int width, int height, byte[] rgb) {
    public Frame {
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("frame " + width + "x" + height + " needs " + (width * height * 3)
                    + " bytes, got " + rgb.length);
        }
    }
}
