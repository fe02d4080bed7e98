package dev.merv.data.batch;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.text.EncodedText;
import dev.merv.data.cache.CacheLookup;
import dev.merv.data.cache.RowFeatures;
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
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Turns a dataset row into a {@link Sample} (docs/reference.md §5.3): parse, tokenise and mask the
 * text; for a video decode {@code K = max(num_frames)} frames once; for an image decode it and use
 * it as a {@code K}-frame still clip; give each encoder every {@code K/num_frames}-th frame and run
 * its transform. Text-only rows get no pixels at all, so no encoder ever runs on a dummy clip (W7).
 *
 * <p>Randomness for the transforms (LanguageBind's training flip, W1) comes from a generator seeded
 * by (seed, epoch, row, encoder), so a sample is the same whichever thread builds it and in
 * whichever order, and a resumed run rebuilds the same samples. Thread-safe.
 *
 * <p>With a frozen-feature cache ({@link CacheLookup}) every cached encoder's value is looked up before the
 * clip is decoded: when all encoders hit, nothing is decoded or transformed; otherwise only the encoders
 * that missed get pixels (plus their transforms' other random variants, to be stored).
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
    private final CacheLookup cache;
    private final AtomicLong decodes = new AtomicLong();

    public SampleBuilder(VideoLlavaDataset dataset, SampleText text, List<EncoderInput> encoders,
            VideoDecoder videoDecoder, Options options) {
        this(dataset, text, encoders, videoDecoder, options, null);
    }

    /** @param cache the frozen-feature cache to look clips up in first (null: none) */
    public SampleBuilder(VideoLlavaDataset dataset, SampleText text, List<EncoderInput> encoders,
            VideoDecoder videoDecoder, Options options, CacheLookup cache) {
        if (encoders.isEmpty()) {
            throw new IllegalArgumentException("at least one encoder input is needed");
        }
        this.dataset = dataset;
        this.text = text;
        this.encoders = List.copyOf(encoders);
        this.videoDecoder = videoDecoder;
        this.imageDecoder = new ImageDecoder(videoDecoder);
        this.options = options;
        this.cache = cache;
        if (cache != null && cache.keys().size() != encoders.size()) {
            throw new IllegalArgumentException("feature cache keys for " + cache.keys().size() + " encoders, the loader has "
                    + encoders.size());
        }
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

    /** Media files decoded so far (videos and images); a clip the cache holds entirely is not decoded. */
    public long decodes() {
        return decodes.get();
    }

    public Sample build(int index, int epoch) throws SampleException {
        Entry entry = dataset.entry(index);
        EncodedText ids = text.encode(entry);
        if (!entry.hasMedia()) {
            return new Sample(index, ids, null, false);
        }
        return media(index, epoch, entry, ids);
    }

    /**
     * A row's media alone, without its text (what a cache build needs); null for a text-only row.
     */
    public Sample buildMedia(int index, int epoch) throws SampleException {
        Entry entry = dataset.entry(index);
        return entry.hasMedia() ? media(index, epoch, entry, null) : null;
    }

    private Sample media(int index, int epoch, Entry entry, EncodedText ids) throws SampleException {
        Path file = dataset.resolveMedia(entry);
        boolean video = entry.kind() == Entry.Kind.VIDEO;
        RowFeatures cached = null;
        if (cache != null) {
            List<Optional<String>> variants = new ArrayList<>();
            for (int e = 0; e < encoders.size(); e++) {
                variants.add(encoders.get(e).transform().variant(random(e, index, epoch)));
            }
            cached = cache.lookup(file, !video, variants);
            if (cached != null && cached.complete()) {
                return new Sample(index, ids, new float[encoders.size()][], entry.isImage(), cached);
            }
        }
        float[][] pixels = new float[encoders.size()][];
        decodes.incrementAndGet();
        if (video) {
            List<Frame> frames = videoDecoder.decodeSampled(file, maxFrames).frames();
            for (int e = 0; e < encoders.size(); e++) {
                List<Frame> clip = new ArrayList<>(positions[e].length);
                for (int p : positions[e]) {
                    clip.add(frames.get(p));
                }
                if (cached == null || !cached.hit(e)) {
                    pixels[e] = transform(e, clip, index, epoch, file, clip.size(), null);
                }
                extraVariants(cached, e, clip, index, epoch, file, clip.size(), null);
            }
        } else {
            Frame still = imageDecoder.decode(file);
            for (int e = 0; e < encoders.size(); e++) {
                int nf = encoders.get(e).numFrames();
                FrameTransform.Layout tile = options.imageFastPath() ? encoders.get(e).transform().layout() : null;
                List<Frame> clip = tile != null ? List.of(still) : Collections.nCopies(nf, still);
                if (cached == null || !cached.hit(e)) {
                    pixels[e] = transform(e, clip, index, epoch, file, nf, tile);
                }
                extraVariants(cached, e, clip, index, epoch, file, nf, tile);
            }
        }
        return new Sample(index, ids, pixels, entry.isImage(), cached);
    }

    /** The other random variants of a missed clip the cache wants stored. */
    private void extraVariants(RowFeatures cached, int e, List<Frame> clip, int index, int epoch, Path file, int frames,
            FrameTransform.Layout tile) throws SampleException {
        if (cached == null || cached.hit(e) || cached.extraVariants()[e].length == 0) {
            return;
        }
        String[] vs = cached.extraVariants()[e];
        float[][] out = new float[vs.length][];
        for (int j = 0; j < vs.length; j++) {
            out[j] = transform(e, clip, index, epoch, file, frames, tile, vs[j]);
        }
        cached.extraPixels()[e] = out;
    }

    /** The sample's random stream for encoder {@code e}'s transform: null in evaluation. */
    private Random random(int e, int index, int epoch) {
        return options.training() ? new Random(mix(options.seed(), epoch, index, e)) : null;
    }

    private float[] transform(int e, List<Frame> clip, int index, int epoch, Path file, int frames,
            FrameTransform.Layout tile) throws SampleException {
        return transform(e, clip, index, epoch, file, frames, tile, null);
    }

    /**
     * Encoder {@code e}'s transform of {@code clip}: with the sample's random stream, or with its random
     * choice fixed to {@code variant}; a one-frame clip tiled to {@code frames} in layout {@code tile}.
     */
    private float[] transform(int e, List<Frame> clip, int index, int epoch, Path file, int frames,
            FrameTransform.Layout tile, String variant) throws SampleException {
        EncoderInput in = encoders.get(e);
        float[] out;
        try {
            out = variant == null ? in.transform().apply(clip, random(e, index, epoch))
                    : in.transform().applyVariant(clip, variant);
        } catch (RuntimeException ex) {
            throw new SampleException(SkipReason.CORRUPT, file + ": " + in.name() + " transform failed: " + ex, ex);
        }
        long expected = in.transform().values(clip.size());
        if (out.length != expected) {
            throw new IllegalStateException(in.name() + " transform returned " + out.length + " values for " + clip.size()
                    + " frames, expected " + expected);
        }
        return tile == null ? out : tile(out, frames, tile);
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
