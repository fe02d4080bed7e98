package dev.merv.data.batch;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.text.EncodedText;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import dev.merv.data.image.ImageDecoder;
import dev.merv.data.text.SampleText;
import dev.merv.data.video.FrameSampling;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.Entry;
import dev.merv.data.videollava.VideoLlavaDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Turns a dataset row into a {@link Sample} (merv-reference.md §5.3): parse, tokenise and mask the
 * text; for a video decode {@code K = max(num_frames)} frames once; for an image decode it and use
 * it as a {@code K}-frame still clip; give each encoder every {@code K/num_frames}-th frame and run
 * its transform. Text-only rows get no pixels at all, so no encoder ever runs on a dummy clip (W7).
 *
 * <p>Randomness for the transforms (LanguageBind's training flip, W1) comes from a generator seeded
 * by (seed, epoch, row, encoder), so a sample is the same whichever thread builds it and in
 * whichever order, and a resumed run rebuilds the same samples. Thread-safe.
 */
public final class SampleBuilder {

    /**
     * @param seed base seed of the transforms' random streams
     * @param training whether transforms get a random stream (null = evaluation, no random flip)
     * @param imageFastPath transform an image once and repeat the result over time instead of
     *     transforming {@code K} identical frames; identical output for per-frame transforms (all
     *     registered encoders), much less work (W7)
     */
    public record Options(long seed, boolean training, boolean imageFastPath) {
        public static Options training(long seed) {
            return new Options(seed, true, true);
        }
    }

    private final VideoLlavaDataset dataset;
    private final SampleText text;
    private final List<EncoderInput> encoders;
    private final VideoDecoder videoDecoder;
    private final ImageDecoder imageDecoder;
    private final Options options;
    private final int maxFrames;
    private final int[][] positions;

    public SampleBuilder(VideoLlavaDataset dataset, SampleText text, List<EncoderInput> encoders,
            VideoDecoder videoDecoder, Options options) {
        if (encoders.isEmpty()) {
            throw new IllegalArgumentException("at least one encoder input is needed");
        }
        this.dataset = dataset;
        this.text = text;
        this.encoders = List.copyOf(encoders);
        this.videoDecoder = videoDecoder;
        this.imageDecoder = new ImageDecoder(videoDecoder);
        this.options = options;
        this.maxFrames = encoders.stream().mapToInt(EncoderInput::numFrames).max().orElseThrow();
        this.positions = new int[encoders.size()][];
        for (int e = 0; e < encoders.size(); e++) {
            try {
                positions[e] = FrameSampling.encoderPositions(maxFrames, encoders.get(e).numFrames());
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("encoder " + encoders.get(e).name() + ": " + ex.getMessage(), ex);
            }
        }
    }

    public VideoLlavaDataset dataset() {
        return dataset;
    }

    public List<EncoderInput> encoders() {
        return encoders;
    }

    public SampleText text() {
        return text;
    }

    /** Frames decoded per video: {@code max(num_frames)}. */
    public int maxFrames() {
        return maxFrames;
    }

    public Sample build(int index, int epoch) throws SampleException {
        Entry entry = dataset.entry(index);
        EncodedText ids = text.encode(entry);
        if (!entry.hasMedia()) {
            return new Sample(index, ids, null, false);
        }
        Path file = dataset.resolveMedia(entry);
        float[][] pixels = new float[encoders.size()][];
        if (entry.kind() == Entry.Kind.VIDEO) {
            List<Frame> frames = videoDecoder.decodeSampled(file, maxFrames).frames();
            for (int e = 0; e < encoders.size(); e++) {
                List<Frame> clip = new ArrayList<>(positions[e].length);
                for (int p : positions[e]) {
                    clip.add(frames.get(p));
                }
                pixels[e] = transform(e, clip, index, epoch, file);
            }
        } else {
            Frame still = imageDecoder.decode(file);
            for (int e = 0; e < encoders.size(); e++) {
                int nf = encoders.get(e).numFrames();
                if (options.imageFastPath()) {
                    float[] one = transform(e, List.of(still), index, epoch, file, 1);
                    pixels[e] = tile(one, nf, encoders.get(e).transform().layout());
                } else {
                    pixels[e] = transform(e, Collections.nCopies(nf, still), index, epoch, file);
                }
            }
        }
        return new Sample(index, ids, pixels, entry.isImage());
    }

    private float[] transform(int e, List<Frame> clip, int index, int epoch, Path file) throws SampleException {
        return transform(e, clip, index, epoch, file, encoders.get(e).numFrames());
    }

    private float[] transform(int e, List<Frame> clip, int index, int epoch, Path file, int frames)
            throws SampleException {
        EncoderInput in = encoders.get(e);
        Random rnd = options.training() ? new Random(mix(options.seed(), epoch, index, e)) : null;
        float[] out;
        try {
            out = in.transform().apply(clip, rnd);
        } catch (RuntimeException ex) {
            throw new SampleException(SkipReason.CORRUPT, file + ": " + in.name() + " transform failed: " + ex, ex);
        }
        long expected = in.transform().values(frames);
        if (out.length != expected) {
            throw new IllegalStateException(in.name() + " transform returned " + out.length + " values for " + frames
                    + " frames, expected " + expected);
        }
        return out;
    }

    /** Repeats a one-frame transformed clip over {@code t} frames in the transform's layout. */
    static float[] tile(float[] one, int t, FrameTransform.Layout layout) {
        float[] out = new float[one.length * t];
        if (layout == FrameTransform.Layout.TCHW) {
            for (int k = 0; k < t; k++) {
                System.arraycopy(one, 0, out, k * one.length, one.length);
            }
        } else {
            int plane = one.length / 3;
            for (int c = 0; c < 3; c++) {
                for (int k = 0; k < t; k++) {
                    System.arraycopy(one, c * plane, out, (c * t + k) * plane, plane);
                }
            }
        }
        return out;
    }

    static long mix(long seed, int epoch, int index, int encoder) {
        long h = seed * 0x9E3779B97F4A7C15L;
        h = (h ^ epoch) * 0xBF58476D1CE4E5B9L;
        h = (h ^ index) * 0x94D049BB133111EBL;
        h = (h ^ encoder) * 0x9E3779B97F4A7C15L;
        return h ^ (h >>> 31);
    }
}
