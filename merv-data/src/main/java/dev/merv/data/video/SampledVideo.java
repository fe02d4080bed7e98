package dev.merv.data.video;

import dev.merv.core.model.Frame;
import java.util.List;

/**
 * The frames decoded for one sample: {@code frames.get(k)} is file frame {@code indices[k]}
 * (repeated indices share one {@link Frame}); {@code numFrames} is the frame count of the file;
 * {@code decodedFrames} how many frames the decoder produced to get them (fewer than the last sampled
 * index + 1 when key-frame jumps or dropped non-reference pictures saved work).
 */
public record SampledVideo(List<Frame> frames, int[] indices, int numFrames, double avgFps, int decodedFrames) {}
