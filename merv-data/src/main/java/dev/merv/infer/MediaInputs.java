package dev.merv.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.Frame;
import dev.merv.core.model.Merv;
import dev.merv.core.model.VideoEncoder;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.check.SampleException;
import dev.merv.data.image.ImageDecoder;
import dev.merv.data.video.FrameSampling;
import dev.merv.data.video.VideoDecoder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One video or image turned into each encoder's input, exactly as the data path does it (decode
 * {@code max(num_frames)} frames once, each encoder takes every k-th, its transform in evaluation mode),
 * with a leading batch axis of 1.
 */
public final class MediaInputs {

    private MediaInputs() {}

    /** Whether {@code media} is read as a still image (by its extension); false for null. */
    public static boolean isImage(Path media) {
        if (media == null) {
            return false;
        }
        String name = media.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return name.endsWith(".jpg") || name.endsWith(".jpeg") || name.endsWith(".png");
    }

    public static List<NDArray> pixels(Merv merv, Path media, NDManager manager) throws SampleException {
        int maxFrames = merv.encoders().stream().mapToInt(VideoEncoder::numFrames).max().orElseThrow();
        VideoDecoder decoder = new VideoDecoder();
        List<Frame> frames;
        if (isImage(media)) {
            Frame f = new ImageDecoder(decoder).decode(media);
            frames = new ArrayList<>(Collections.nCopies(maxFrames, f));
        } else {
            frames = decoder.decodeSampled(media, maxFrames).frames();
        }
        List<NDArray> out = new ArrayList<>();
        for (VideoEncoder e : merv.encoders()) {
            EncoderInput in = EncoderInput.of(e);
            List<Frame> clip = new ArrayList<>();
            for (int p : FrameSampling.encoderPositions(maxFrames, e.numFrames())) {
                clip.add(frames.get(p));
            }
            float[] v = e.transform().apply(clip, null);
            long[] shape = in.clipShape();
            long[] batched = new long[shape.length + 1];
            batched[0] = 1;
            System.arraycopy(shape, 0, batched, 1, shape.length);
            out.add(manager.create(v, new Shape(batched)));
        }
        return out;
    }
}
