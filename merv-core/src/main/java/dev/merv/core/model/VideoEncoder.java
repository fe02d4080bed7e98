package dev.merv.core.model;

import ai.djl.ndarray.NDArray;
import dev.merv.core.nn.Module;

/**
 * A frozen video backbone: transformed frames in, patch features out.
 *
 * <p>{@link #encode} takes a batch laid out as {@link FrameTransform#layout()} with a leading batch
 * axis ({@code [B, T, 3, S, S]} or {@code [B, 3, T, S, S]}) and returns {@code [B, T', N, C]} with
 * {@code T' = temporalResolution()}, {@code N = spatialResolution()}, {@code C = embedDim()}. It runs
 * without autograd and keeps no graph state; it may run in bf16.
 */
public interface VideoEncoder {

    /** The reference backbone id, e.g. {@code dinov2-video-all-tokens}. */
    String id();

    /** Frames this encoder takes per clip. */
    int numFrames();

    int temporalResolution();

    int spatialResolution();

    int embedDim();

    FrameTransform transform();

    NDArray encode(NDArray pixels);

    /** The parameter tree (frozen). */
    Module module();
}
