package dev.merv.encoders;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.EncoderEntry;
import dev.merv.core.catalog.EncoderFamily;
import dev.merv.core.catalog.ResizeStrategy;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.core.weights.WeightSource;
import dev.merv.encoders.dinov2.Dinov2;
import dev.merv.encoders.hiera.HieraConfig;
import dev.merv.encoders.hiera.HieraEncoder;
import dev.merv.encoders.languagebind.LanguageBindConfig;
import dev.merv.encoders.languagebind.LanguageBindEncoder;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import dev.merv.encoders.siglip.Siglip;
import dev.merv.encoders.timm.TimmVitConfig;
import dev.merv.encoders.transform.FrameTransforms;
import dev.merv.encoders.vivit.VivitConfig;
import dev.merv.encoders.vivit.VivitEncoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns a catalog entry ({@link Catalog#encoder}) into a {@link FrozenVideoEncoder}: it dispatches on the
 * entry's family and parses the entry's config values, or a checkpoint's {@code config.json}, with the
 * family's parser. Encoders are built before any weight is read, so a frame count or size that cannot
 * work fails first, naming the id and the count.
 */
public final class EncoderRegistry {

    /**
     * Build options.
     *
     * @param imageHeight input height; 0 = the entry's transform size (224 for every real checkpoint)
     * @param imageWidth input width; 0 = the entry's transform size
     * @param numFrames frames per clip; 0 = the entry's default
     * @param widthDivisor every width divided by this (1 = real; benchmarks and tests)
     * @param flip LanguageBind's flip policy (W1)
     * @param grouping LanguageBind's temporal grouping (W2)
     * @param resize the reference's {@code image_resize_strategy}
     */
    public record Options(int imageHeight, int imageWidth, int numFrames, int widthDivisor, LanguageBindTransform.Flip flip,
            LanguageBindEncoder.TemporalGrouping grouping, ResizeStrategy resize) {

        public Options {
            if (imageHeight < 0 || imageWidth < 0 || (imageHeight == 0) != (imageWidth == 0)) {
                throw new IllegalArgumentException("encoder image size " + imageHeight + "x" + imageWidth
                        + ": give both sides (or neither, for the entry's size)");
            }
        }

        /**
         * The entry's size and frame count, real width, LanguageBind flip in training only (W1), parity groups (W2),
         * {@code resize-naive}.
         */
        public static Options defaults() {
            return new Options(0, 0, 0, 1, LanguageBindTransform.Flip.TRAINING,
                    LanguageBindEncoder.TemporalGrouping.PARITY_GROUPS, ResizeStrategy.RESIZE_NAIVE);
        }

        /** Encoder {@code index} of a model configuration: its frame count and the model's resize strategy. */
        public static Options of(ModelConfig config, int index) {
            return defaults().withFrames(config.numFrames().get(index))
                    .withResize(ResizeStrategy.parse(config.imageResizeStrategy()));
        }

        public Options withFrames(int frames) {
            return new Options(imageHeight, imageWidth, frames, widthDivisor, flip, grouping, resize);
        }

        public Options withWidthDivisor(int k) {
            return new Options(imageHeight, imageWidth, numFrames, k, flip, grouping, resize);
        }

        /** Square {@code size x size} input. */
        public Options withImageSize(int size) {
            return withImageSize(size, size);
        }

        /** {@code height x width} input (families whose reference model is square refuse other shapes when built). */
        public Options withImageSize(int height, int width) {
            return new Options(height, width, numFrames, widthDivisor, flip, grouping, resize);
        }

        /** LanguageBind's flip policy (W1); {@code PARITY} reproduces the reference's flip at evaluation too. */
        public Options withFlip(LanguageBindTransform.Flip f) {
            return new Options(imageHeight, imageWidth, numFrames, widthDivisor, f, grouping, resize);
        }

        /** LanguageBind's temporal grouping (W2); the default reproduces the released checkpoints. */
        public Options withGrouping(LanguageBindEncoder.TemporalGrouping g) {
            return new Options(imageHeight, imageWidth, numFrames, widthDivisor, flip, g, resize);
        }

        /** The reference's {@code image_resize_strategy}. */
        public Options withResize(ResizeStrategy r) {
            return new Options(imageHeight, imageWidth, numFrames, widthDivisor, flip, grouping, r);
        }

        int height(EncoderEntry e) {
            return imageHeight != 0 ? imageHeight : e.transform().height();
        }

        int width(EncoderEntry e) {
            return imageWidth != 0 ? imageWidth : e.transform().width();
        }
    }

    private EncoderRegistry() {}

    /** The ids merv builds, in catalog order. */
    public static List<String> ids() {
        return Catalog.supportedEncoderIds();
    }

    /** The catalog entry of {@code id}; fails naming the supported ids (and why, for an id merv cannot build). */
    public static EncoderEntry get(String id) {
        return Catalog.supportedEncoder(id);
    }

    /** The real-size architecture for {@code id} at its size and default frame count (weights not loaded). */
    public static FrozenVideoEncoder create(String id) {
        return create(id, Options.defaults());
    }

    /** The architecture for {@code id} from its catalog config values (weights not loaded). */
    public static FrozenVideoEncoder create(String id, Options options) {
        return create(id, null, options);
    }

    /**
     * The architecture for {@code id} from a checkpoint's {@code config.json} when one is given and
     * describes the architecture (it then wins over the catalog's, e.g. a differently sized checkpoint),
     * else from the entry's config values; both go through the family's one parser. timm's hub
     * {@code config.json} names a model and its pretrained settings rather than the constructor kwargs,
     * so for SigLIP and DINOv2 only a file with the kwargs ({@code embed_dim} ...) is read.
     */
    public static FrozenVideoEncoder create(String id, JsonObject checkpointConfig, Options options) {
        EncoderEntry e = get(id);
        boolean fromCheckpoint = checkpointConfig != null && describesArchitecture(e, checkpointConfig);
        JsonObject json = fromCheckpoint ? checkpointConfig : e.config();
        String source = fromCheckpoint ? id + " checkpoint config.json" : "catalog entry " + id;
        int h = options.height(e);
        int w = options.width(e);
        int frames = options.numFrames() != 0 ? options.numFrames() : e.defaultFrames();
        int k = options.widthDivisor();
        if (h != w && (e.family() == EncoderFamily.LANGUAGEBIND || e.family() == EncoderFamily.VIVIT)) {
            throw new IllegalArgumentException(id + ": " + h + "x" + w + " (height x width) input, but the " + e.family()
                    + " model takes square frames only (its config has one image_size and a square position grid)");
        }
        FrameTransform transform = FrameTransforms.of(e.transform(), h, w, options.flip(), options.resize());
        switch (e.family()) {
            case LANGUAGEBIND: {
                LanguageBindConfig c = LanguageBindConfig.fromJson(json, source).withImageSize(h).narrower(k);
                return new LanguageBindEncoder(id, c, frames, transform, options.grouping());
            }
            case DINOV2: {
                TimmVitConfig c = Dinov2.config(json, source).narrower(k);
                return Dinov2.encoder(id, c, h, w, frames, transform);
            }
            case SIGLIP: {
                TimmVitConfig c = Siglip.config(json, source).narrower(k);
                return Siglip.encoder(id, c, h, w, frames, transform);
            }
            case VIVIT: {
                VivitConfig c = VivitConfig.fromJson(json, source).withImageSize(h).narrower(k);
                VivitEncoder.Tokens tokens = switch (e.tokens()) {
                    case LAST_HIDDEN_NO_CLS_ALL_SLOTS -> VivitEncoder.Tokens.ALL_SLOTS;
                    case LAST_HIDDEN_NO_CLS_EVERY_SECOND_SLOT -> VivitEncoder.Tokens.EVERY_SECOND_SLOT;
                    default -> throw new IllegalStateException(id + ": ViViT has no token policy " + e.tokens());
                };
                return new VivitEncoder(id, c, frames, tokens, transform);
            }
            case HIERA: {
                HieraConfig c = HieraConfig.fromJson(json, source);
                int[] in = c.inputSize();
                return new HieraEncoder(id, c.withInputSize(new int[] {in[0], h, w}).narrower(k), frames, transform);
            }
            default:
                throw new AssertionError(e.family());
        }
    }

    private static boolean describesArchitecture(EncoderEntry e, JsonObject checkpointConfig) {
        return switch (e.family()) {
            case DINOV2, SIGLIP -> checkpointConfig.has("embed_dim");
            default -> true;
        };
    }

    /** The frame transform of {@code id} at the options' size, resize strategy and LanguageBind flip policy. */
    public static FrameTransform transform(String id, Options options) {
        EncoderEntry e = get(id);
        return FrameTransforms.of(e.transform(), options.height(e), options.width(e), options.flip(), options.resize());
    }

    /**
     * Builds {@code id} (validating the options first), loads its weights from {@code source} (the
     * hub checkpoint's layout unless {@code prefix} overrides it, e.g. {@code video_backbones.0.featurizer.}
     * in a MERV checkpoint), casts to {@code dtype} and freezes it.
     */
    public static FrozenVideoEncoder load(String id, Options options, WeightSource source, String prefix, NDManager manager,
            ScalarType dtype) {
        return load(get(id), create(id, options), source, prefix, manager, dtype);
    }

    /**
     * Loads {@code id} from a checkpoint directory (or HF cache repo id, see
     * {@link ModelDirectory#resolve}); the architecture comes from its {@code config.json} when it has
     * one, else from the catalog, and is validated before any tensor is read. A null {@code prefix}
     * means the hub layout's.
     */
    public static FrozenVideoEncoder load(String id, Options options, String dirOrRepo, String prefix, NDManager manager,
            ScalarType dtype) {
        EncoderEntry e = get(id);
        Path path = ModelDirectory.resolve(dirOrRepo);
        JsonObject cfg = Files.exists(path.resolve("config.json")) ? ModelDirectory.readConfig(path) : null;
        FrozenVideoEncoder enc = create(id, cfg, options);
        try (ModelDirectory dir = ModelDirectory.open(path)) {
            return load(e, enc, dir, prefix, manager, dtype);
        }
    }

    private static FrozenVideoEncoder load(EncoderEntry e, FrozenVideoEncoder enc, WeightSource source, String prefix,
            NDManager manager, ScalarType dtype) {
        enc.module().setTrainable(false);
        enc.loadWeights(source, prefix != null ? prefix : e.checkpointPrefix(), manager, dtype);
        if (dtype != null && dtype != ScalarType.FLOAT32) {
            enc.castTo(dtype, manager);
        } else {
            enc.module().setTrainable(false);
        }
        return enc;
    }
}
