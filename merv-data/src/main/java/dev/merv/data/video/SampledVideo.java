package dev.merv.data.video;

import dev.merv.core.model.Frame;
import java.util.List;

/**
 * The frames decoded for one sample: {@code frames.get(k)} is file frame {@code indices[k]}
 * (repeated indices share one {@link Frame}); {@code numFrames} is the frame count of the file;
 * {@code decodedFrames} how many frames the decoder produced to get them (less than the last index
 * when GOPs were skipped).
 */
public record SampledVideo(List<Frame> frames, int[] indices, int numFrames, double avgFps, int decodedFrames) {}
