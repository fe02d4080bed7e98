package dev.merv.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.Frame;
import dev.merv.core.model.Merv;
import dev.merv.core.model.VideoEncoder;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import dev.merv.data.image.ImageDecoder;
import dev.merv.data.video.ClipWindow;
import dev.merv.data.video.FrameSampling;
import dev.merv.data.video.SampledVideo;
import dev.merv.data.video.VideoDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * One video, image or folder of frames turned into each encoder's input as the reference's inference does
 * ({@code MERV.generate}): decode {@code K = max(num_frames)} frames once (inside a {@link ClipWindow} when one is
 * given), each encoder takes every {@code K/num_frames}-th, its transform in evaluation mode.
 *
 * <ul>
 *   <li>A path containing {@code .jpg} (the reference's test), or ending in {@code .jpeg}/{@code .png}, is a still
 *       image repeated over the frames.
 *   <li>A directory is a video stored as frames ({@code *.jpg}, {@code *.jpeg}, {@code *.png}, in name order): VLEP's
 *       folders hold 3 frames per second, so windows in seconds use {@link Options#frameDirectoryFps}; a folder whose
 *       path contains {@code sharegpt} is sampled uniformly, as the reference does.
 *   <li>A video file whose window is the whole video is decoded exactly as training decodes it; a window decodes
 *       forward up to the window's last sampled frame.
 *   <li>No media: zeros in each encoder's input layout (the reference encodes and splices these "zero videos").
 * </ul>
 */
public final class MediaInputs {

    /**
     * How media is read.
     *
     * @param frameDirectoryFps frame rate of a folder of frames (VLEP's folders hold 3 frames per second)
     */
    public record Options(double frameDirectoryFps) {
        public static Options defaults() {
            return new Options(3.0);
        }

        public Options {
            if (!(frameDirectoryFps > 0) || Double.isInfinite(frameDirectoryFps)) {
                throw new IllegalArgumentException("frame directory rate must be a positive number of frames per second, got "
                        + frameDirectoryFps);
            }
        }
    }

    /**
     * One media item as every encoder's transformed clip.
     *
     * @param pixels per encoder, its transformed clip laid out as {@link EncoderInput#clipShape()} says
     * @param frameIndices per encoder, the file's frame numbers it sees (frame-folder positions for a directory;
     *     empty for an image or no media)
     * @param image whether the media is a still image
     */
    public record Clip(float[][] pixels, int[][] frameIndices, boolean image) {}

    private MediaInputs() {}

    /** Whether {@code media} is read as a still image: the reference's {@code ".jpg" in path}, or a jpeg/png name. */
    public static boolean isImage(Path media) {
        if (media == null || Files.isDirectory(media)) {
            return false;
        }
        String name = media.getFileName().toString().toLowerCase(Locale.ROOT);
        return media.toString().contains(".jpg") || name.endsWith(".jpg") || name.endsWith(".jpeg") || name.endsWith(".png");
    }

    /** Each encoder's input of {@code merv} for {@code media} (whole video), with a leading batch axis of 1. */
    public static List<NDArray> pixels(Merv merv, Path media, NDManager manager) throws SampleException {
        List<EncoderInput> inputs = inputs(merv);
        return tensors(inputs, List.of(read(inputs, media, ClipWindow.WHOLE, new VideoDecoder(), Options.defaults())),
                manager);
    }

    /** What the data path needs of each of {@code merv}'s encoders. */
    public static List<EncoderInput> inputs(Merv merv) {
        List<EncoderInput> out = new ArrayList<>();
        for (VideoEncoder e : merv.encoders()) {
            out.add(EncoderInput.of(e));
        }
        return out;
    }

    /** Reads {@code media} (not null) inside {@code window}; fails naming the file. */
    public static Clip read(List<EncoderInput> encoders, Path media, ClipWindow window, VideoDecoder decoder, Options options)
            throws SampleException {
        int k = encoders.stream().mapToInt(EncoderInput::numFrames).max().orElseThrow();
        if (!Files.exists(media)) {
            throw new SampleException(SkipReason.MISSING, media + ": no such file or directory");
        }
        if (Files.isDirectory(media)) {
            return frameDirectory(encoders, media, window, k, options);
        }
        if (isImage(media)) {
            Frame still = new ImageDecoder(decoder).decode(media);
            List<Frame> frames = Collections.nCopies(k, still);
            return clip(encoders, frames, null, k, media, true);
        }
        String lower = media.getFileName().toString().toLowerCase(Locale.ROOT);
        // the reference decodes GIFs with PIL over all frames and ignores clip bounds
        ClipWindow w = lower.endsWith(".gif") ? ClipWindow.WHOLE : window;
        if (w == null || w.whole()) {
            SampledVideo v = decoder.decodeSampled(media, k);
            return clip(encoders, v.frames(), v.indices(), k, media, false);
        }
        SampledVideo first = decoder.decodeSampled(media, 1);
        int[] idx;
        try {
            idx = FrameSampling.indices(first.numFrames(), first.avgFps(), k, w);
        } catch (IllegalArgumentException e) {
            throw new SampleException(SkipReason.CORRUPT, media + ": " + e.getMessage(), e);
        }
        return clip(encoders, decodeAt(decoder, media, idx), idx, k, media, false);
    }

    /** Zero inputs for every encoder: what the reference feeds its encoders for a question without media. */
    public static Clip zeros(List<EncoderInput> encoders) {
        float[][] px = new float[encoders.size()][];
        int[][] idx = new int[encoders.size()][];
        for (int e = 0; e < encoders.size(); e++) {
            px[e] = new float[encoders.get(e).clipValues()];
            idx[e] = new int[0];
        }
        return new Clip(px, idx, false);
    }

    /** Encoder {@code encoder}'s inputs of {@code clips} stacked on a leading batch axis, in {@code manager}. */
    public static NDArray stack(List<EncoderInput> encoders, List<Clip> clips, int encoder, NDManager manager) {
        EncoderInput in = encoders.get(encoder);
        int per = in.clipValues();
        float[] all = new float[per * clips.size()];
        for (int i = 0; i < clips.size(); i++) {
            System.arraycopy(clips.get(i).pixels()[encoder], 0, all, i * per, per);
        }
        long[] shape = in.clipShape();
        long[] batched = new long[shape.length + 1];
        batched[0] = clips.size();
        System.arraycopy(shape, 0, batched, 1, shape.length);
        return manager.create(all, new Shape(batched));
    }

    /** Every encoder's stacked inputs of {@code clips}. */
    public static List<NDArray> tensors(List<EncoderInput> encoders, List<Clip> clips, NDManager manager) {
        List<NDArray> out = new ArrayList<>();
        for (int e = 0; e < encoders.size(); e++) {
            out.add(stack(encoders, clips, e, manager));
        }
        return out;
    }

    private static Clip clip(List<EncoderInput> encoders, List<Frame> frames, int[] fileIndices, int k, Path media,
            boolean image) throws SampleException {
        float[][] px = new float[encoders.size()][];
        int[][] idx = new int[encoders.size()][];
        for (int e = 0; e < encoders.size(); e++) {
            EncoderInput in = encoders.get(e);
            int[] pos = FrameSampling.encoderPositions(k, in.numFrames());
            List<Frame> clip = new ArrayList<>(pos.length);
            idx[e] = fileIndices == null ? new int[0] : new int[pos.length];
            for (int i = 0; i < pos.length; i++) {
                clip.add(frames.get(pos[i]));
                if (fileIndices != null) {
                    idx[e][i] = fileIndices[pos[i]];
                }
            }
            try {
                px[e] = in.transform().apply(clip, null);
            } catch (RuntimeException ex) {
                throw new SampleException(SkipReason.CORRUPT, media + ": " + in.name() + " transform failed: " + ex, ex);
            }
        }
        return new Clip(px, idx, image);
    }

    private static Clip frameDirectory(List<EncoderInput> encoders, Path dir, ClipWindow window, int k, Options options)
            throws SampleException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return Files.isRegularFile(p) && (n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png"));
            }).sorted((a, b) -> a.toString().compareTo(b.toString())).toList();
        } catch (IOException e) {
            throw new SampleException(SkipReason.CORRUPT, dir + ": cannot list the frame folder: " + e, e);
        }
        if (files.isEmpty()) {
            throw new SampleException(SkipReason.EMPTY, dir + ": a folder of frames with no .jpg/.jpeg/.png frame");
        }
        int n = files.size();
        int[] idx;
        try {
            // the reference samples ShareGPT's frame folders uniformly, VLEP's at their 3 fps with the window
            idx = dir.toString().toLowerCase(Locale.ROOT).contains("sharegpt") ? FrameSampling.videoIndices(n, 0, k)
                    : FrameSampling.indices(n, options.frameDirectoryFps(), k, window.withoutEndFrame());
        } catch (IllegalArgumentException e) {
            throw new SampleException(SkipReason.CORRUPT, dir + ": " + e.getMessage(), e);
        }
        ImageDecoder images = new ImageDecoder(new VideoDecoder());
        Frame[] frames = new Frame[k];
        for (int i = 0; i < k; i++) {
            frames[i] = i > 0 && idx[i] == idx[i - 1] ? frames[i - 1] : images.decode(files.get(idx[i]));
        }
        return clip(encoders, Arrays.asList(frames), idx, k, dir, false);
    }

    /** Thrown by the frame sink once the last wanted frame is in: stops the forward decode early. */
    private static final class EnoughFrames extends RuntimeException {
        EnoughFrames() {
            super(null, null, false, false);
        }
    }

    /** Decodes forward and keeps the frames at {@code idx} (any order, repeats allowed). */
    private static List<Frame> decodeAt(VideoDecoder decoder, Path media, int[] idx) throws SampleException {
        int[] wanted = Arrays.stream(idx).distinct().sorted().toArray();
        Frame[] kept = new Frame[wanted.length];
        int[] at = {0, 0};
        try {
            decoder.decodeAll(media, frame -> {
                int index = at[1]++;
                if (at[0] < wanted.length && wanted[at[0]] == index) {
                    kept[at[0]++] = frame;
                }
                if (at[0] == wanted.length) {
                    throw new EnoughFrames();
                }
            });
        } catch (EnoughFrames done) {
            // every wanted frame is decoded; the rest of the file is never read
        }
        if (at[0] < wanted.length) {
            throw new SampleException(SkipReason.CORRUPT, media + ": stream ended after " + at[1]
                    + " decoded frames, but frame " + wanted[at[0]] + " was sampled");
        }
        List<Frame> out = new ArrayList<>(idx.length);
        for (int i : idx) {
            out.add(kept[Arrays.binarySearch(wanted, i)]);
        }
        return out;
    }
}
