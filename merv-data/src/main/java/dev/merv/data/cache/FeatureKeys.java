package dev.merv.data.cache;

import dev.merv.build.MervModels;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.fusion.FusionType;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.FrozenPoint;
import dev.merv.core.model.Precision;
import dev.merv.core.projector.ArchSpecifier;
import dev.merv.core.projector.Projector;
import dev.merv.core.projector.Projectors;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.video.FrameSampling;
import dev.merv.data.video.VideoDecoder;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The cache keys of one model's frozen features. A key is the SHA-256 of everything that decides the
 * value at an encoder's {@link FrozenPoint} for one clip:
 *
 * <ul>
 *   <li>the clip: the SHA-256 of the video or image file's bytes and whether it is a video, a GIF or an
 *       image;</li>
 *   <li>its frames: {@code K = max(num_frames)}, the positions this encoder takes of the K sampled frames,
 *       the sampling rule's version and the decoder's frame-size cap. The frame indices themselves follow
 *       from the file's contents by that rule (frame count and rate are in the file), so they are not
 *       known, or needed, before the file is opened;</li>
 *   <li>the transform: its {@linkplain FrameTransform#identity() identity} and the random
 *       {@linkplain FrameTransform#variant variant} it takes for this clip (LanguageBind's flip side);</li>
 *   <li>the encoder: its id, frame count, input size, output geometry and build options, and the SHA-256
 *       of its checkpoint files;</li>
 *   <li>the frozen point (after which resampler, to which geometry), the dtype (the precision) and whether
 *       the fusion needs each clip's mean encoder token.</li>
 * </ul>
 *
 * An encoder whose transform makes random choices that cannot be named before it runs (LanguageBind's
 * evaluation flip in parity mode, W1) is not cached; {@link #notCached()} says why.
 */
public final class FeatureKeys {

    /** Version of the frame-sampling rule and decoder behaviour a key assumes; bumped when either changes. */
    static final String SAMPLING = "linspace-fps/1";

    /** One encoder's share of every key. */
    public record EncoderKey(int encoder, String id, String description, FrozenPoint.Kind kind, long[] rowShape,
            ScalarType dtype, boolean classKey, FrameTransform transform, int frames) {}

    private final List<EncoderKey> encoders;
    private final List<String> notCached;
    private final boolean training;

    private FeatureKeys(List<EncoderKey> encoders, List<String> notCached, boolean training) {
        this.encoders = Collections.unmodifiableList(encoders);
        this.notCached = List.copyOf(notCached);
        this.training = training;
    }

    /**
     * The keys of {@code model}'s encoders as built with {@code registry} options ({@code shapes}: built
     * from their configs, no weights needed), reading the checkpoint files in {@code weightDirs} once.
     *
     * @param training whether the loader gives transforms a random stream (LanguageBind's training flip)
     */
    public static FeatureKeys of(ModelConfig model, List<FrozenVideoEncoder> shapes, List<EncoderRegistry.Options> registry,
            List<Path> weightDirs, Precision precision, VideoDecoder.Options decoder, boolean training, FileHashes hashes) {
        List<String> weights = new ArrayList<>();
        for (Path dir : weightDirs) {
            weights.add(weightsHash(dir, hashes));
        }
        return ofWeights(model, shapes, registry, weights, precision, decoder, training);
    }

    /**
     * The keys with each encoder's weights named by {@code weightIds} (any text that changes whenever the
     * weights do, e.g. a hash; for weights that never were in files, such as a benchmark's random ones).
     */
    public static FeatureKeys ofWeights(ModelConfig model, List<FrozenVideoEncoder> shapes,
            List<EncoderRegistry.Options> registry, List<String> weightIds, Precision precision, VideoDecoder.Options decoder,
            boolean training) {
        ArchSpecifier arch = ArchSpecifier.parse(model.archSpecifier());
        boolean classKey = FusionType.parse(model.featureFusion()) == FusionType.CROSS_ATTENTION_CLASS_KV;
        int maxFrames = shapes.stream().mapToInt(FrozenVideoEncoder::numFrames).max().orElseThrow();
        List<EncoderKey> out = new ArrayList<>();
        List<String> notCached = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) {
            FrozenVideoEncoder e = shapes.get(i);
            FrameTransform t = e.transform();
            if (t.variant(training ? new Random(0) : null).isEmpty()) {
                notCached.add(e.id() + ": its transform (" + t + ") makes a random choice that is only known once it runs"
                        + (training ? "" : " (LanguageBind's evaluation flip in parity mode, W1)")
                        + "; its features are computed every time");
                out.add(null);
                continue;
            }
            FrozenPoint point = new FrozenPoint(e, frozenProjector(arch, e, model.projectorTokenLength()));
            EncoderRegistry.Options o = registry.get(i);
            String description = String.join("\n",
                    "merv-feature-cache/" + FeatureCache.VERSION,
                    "encoder=" + e.id(),
                    "architecture=frames " + e.numFrames() + ", size " + sizeText(e) + ", out [" + e.temporalResolution() + ", "
                            + e.spatialResolution() + ", " + e.embedDim() + "], width divisor " + o.widthDivisor()
                            + ", temporal grouping " + o.grouping(),
                    "weights=" + weightIds.get(i),
                    "transform=" + t.identity(),
                    "sampling=" + SAMPLING + ", K " + maxFrames + ", positions "
                            + Arrays.toString(FrameSampling.encoderPositions(maxFrames, e.numFrames()))
                            + ", max frame side " + decoder.maxFrameSide(),
                    "point=" + point.describe(),
                    "dtype=" + precision.compute(),
                    "class_key=" + classKey);
            out.add(new EncoderKey(i, e.id(), description, point.kind(), point.rowShape(), precision.compute(), classKey, t,
                    e.numFrames()));
        }
        return new FeatureKeys(out, notCached, training);
    }

    /**
     * The keys of {@code model}'s encoders as training and inference build them ({@link MervModels}), their
     * checkpoints found in {@code weights}, the loader's default decoder.
     */
    public static FeatureKeys forModel(ModelConfig model, BackboneWeights weights, Precision precision, boolean training,
            FileHashes hashes) {
        List<EncoderRegistry.Options> registry = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < model.videoBackboneIds().size(); i++) {
            registry.add(MervModels.encoderOptions(model, i));
            dirs.add(MervModels.encoderDir(model.videoBackboneIds().get(i), weights));
        }
        return of(model, MervModels.encoderShapes(model, weights), registry, dirs, precision, VideoDecoder.Options.defaults(),
                training, hashes);
    }

    /**
     * A projector with the model's resampler and no head: the same resampler code and geometry as the
     * model's, so a cache build computes bitwise the values the model would, without the LLM's width or
     * any trained weight.
     */
    static Projector frozenProjector(ArchSpecifier arch, FrozenVideoEncoder e, int tokenLength) {
        boolean parameterFree = arch.resampler() == ArchSpecifier.ResamplerType.AVG
                || arch.resampler() == ArchSpecifier.ResamplerType.AVG3D;
        ArchSpecifier resampleOnly = parameterFree
                ? new ArchSpecifier(arch.text(), arch.noAlign(), arch.resampler(), ArchSpecifier.HeadType.NONE, arch.frameFactor())
                : new ArchSpecifier("none", false, ArchSpecifier.ResamplerType.NONE, ArchSpecifier.HeadType.NONE, 1);
        return Projectors.build(resampleOnly, e.embedDim(), e.temporalResolution(), e.spatialResolution(), e.embedDim(),
                tokenLength);
    }

    /** SHA-256 over the checkpoint files in {@code dir} (weights and configs), by name, size and contents. */
    static String weightsHash(Path dir, FileHashes hashes) {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".safetensors") || n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth")
                        || n.endsWith(".json");
            }).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("feature cache: cannot list the checkpoint directory " + dir, e);
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("feature cache: " + dir + " holds no checkpoint file to key the features on");
        }
        StringBuilder all = new StringBuilder();
        for (Path f : files) {
            try {
                all.append(f.getFileName()).append(' ').append(Files.size(f)).append(' ').append(hashes.sha256(f)).append('\n');
            } catch (IOException e) {
                throw new UncheckedIOException("feature cache: cannot read " + f, e);
            }
        }
        return FileHashes.digest(all.toString());
    }

    /** Encoder {@code i}'s share of the keys, or null when it is not cached. */
    public EncoderKey encoder(int i) {
        return encoders.get(i);
    }

    public int size() {
        return encoders.size();
    }

    /** Whether any encoder is cached. */
    public boolean any() {
        return encoders.stream().anyMatch(e -> e != null);
    }

    /** Why some encoders are not cached (empty when all are). */
    public List<String> notCached() {
        return notCached;
    }

    /** Whether transforms get a random stream (the loader's training mode). */
    public boolean training() {
        return training;
    }

    /**
     * The key of encoder {@code i}'s value for one clip.
     *
     * @param media {@code video}, {@code gif} or {@code image}
     * @param content hex SHA-256 of the media file
     * @param variant the transform's random variant for this clip
     */
    public String key(int i, String media, String content, String variant) {
        EncoderKey e = encoders.get(i);
        return FileHashes.digest(e.description() + "\nmedia=" + media + "\ncontent=" + content + "\nvariant=" + variant);
    }

    /** The input size as the key has always named it: the side of a square input, {@code HxW} otherwise. */
    private static String sizeText(FrozenVideoEncoder e) {
        return e.imageHeight() == e.imageWidth() ? String.valueOf(e.imageHeight()) : e.imageHeight() + "x" + e.imageWidth();
    }
}
