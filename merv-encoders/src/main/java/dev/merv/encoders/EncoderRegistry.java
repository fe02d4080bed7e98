package dev.merv.encoders;

import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.WeightSource;
import dev.merv.encoders.dinov2.Dinov2;
import dev.merv.encoders.hiera.HieraConfig;
import dev.merv.encoders.hiera.HieraEncoder;
import dev.merv.encoders.languagebind.LanguageBindConfig;
import dev.merv.encoders.languagebind.LanguageBindEncoder;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import dev.merv.encoders.siglip.Siglip;
import dev.merv.encoders.vivit.VivitConfig;
import dev.merv.encoders.vivit.VivitEncoder;
import com.google.gson.JsonObject;
import dev.merv.core.weights.ModelDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Every MERV video backbone id (merv-reference.md §2.2) mapped to its preset (architecture and hub
 * checkpoint), frame transform and token policy. Encoders are built before any weight is read, so a
 * frame count or size that cannot work fails first, naming the id and the count.
 */
public final class EncoderRegistry {

    /** Build options: input side (MERV: 224 for every id), frames per clip (0 = the id's default), width divisor (1 = real). */
    public record Options(int imageSize, int numFrames, int widthDivisor, LanguageBindTransform.Flip flip,
            LanguageBindEncoder.TemporalGrouping grouping) {
        /** 224 px, the id's frame count, real width, LanguageBind flip in training only (W1), parity groups (W2). */
        public static Options defaults() {
            return new Options(224, 0, 1, LanguageBindTransform.Flip.TRAINING, LanguageBindEncoder.TemporalGrouping.PARITY_GROUPS);
        }

        public Options withFrames(int frames) {
            return new Options(imageSize, frames, widthDivisor, flip, grouping);
        }

        public Options withWidthDivisor(int k) {
            return new Options(imageSize, numFrames, k, flip, grouping);
        }

        public Options withImageSize(int size) {
            return new Options(size, numFrames, widthDivisor, flip, grouping);
        }

        /** LanguageBind's flip policy (W1); {@code PARITY} reproduces the reference's flip at evaluation too. */
        public Options withFlip(LanguageBindTransform.Flip f) {
            return new Options(imageSize, numFrames, widthDivisor, f, grouping);
        }

        /** LanguageBind's temporal grouping (W2); the default reproduces the released checkpoints. */
        public Options withGrouping(LanguageBindEncoder.TemporalGrouping g) {
            return new Options(imageSize, numFrames, widthDivisor, flip, g);
        }
    }

    /**
     * One backbone id.
     *
     * @param checkpoint hub id of the weights
     * @param checkpointPrefix where the tower's names sit in that checkpoint
     * @param defaultFrames frames MERV feeds this id
     * @param tokens the token policy in words
     * @param inReference whether the id is one of the reference's registered ids (others are extra presets)
     */
    public record Entry(String id, String family, String checkpoint, String checkpointPrefix, int defaultFrames, String tokens,
            boolean inReference, Function<Options, FrozenVideoEncoder> factory,
            BiFunction<JsonObject, Options, FrozenVideoEncoder> fromConfig) {

        Entry(String id, String family, String checkpoint, String checkpointPrefix, int defaultFrames, String tokens,
                boolean inReference, Function<Options, FrozenVideoEncoder> factory) {
            this(id, family, checkpoint, checkpointPrefix, defaultFrames, tokens, inReference, factory, null);
        }

        /**
         * The architecture from a checkpoint's {@code config.json} when the family has one (HF
         * LanguageBind / ViViT configs, the hiera package's kwargs); the preset otherwise (timm hub
         * configs carry no architecture kwargs).
         */
        public FrozenVideoEncoder create(JsonObject checkpointConfig, Options options) {
            if (fromConfig == null || checkpointConfig == null) {
                return create(options);
            }
            Options o = options.numFrames() != 0 ? options : options.withFrames(defaultFrames);
            return fromConfig.apply(checkpointConfig, o);
        }

        /** The architecture (weights not loaded). */
        public FrozenVideoEncoder create(Options options) {
            Options o = options.numFrames() != 0 ? options : options.withFrames(defaultFrames);
            return factory.apply(o);
        }
    }

    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();
    private static final Map<String, String> REJECTED = Map.of(
            "siglip-vit-b16-224px-all-tokens", "raises 'not implemented' in the reference (W20)",
            "hiera-base-video", "maps to a doubly prefixed hub id in the reference and never loads (W20)",
            "hiera-base-video-noft", "maps to a doubly prefixed hub id in the reference and never loads (W20)");

    static {
        add(new Entry("languagebind-video-noclass", "languagebind", LanguageBindEncoder.HUB_ID, "vision_model.", 16,
                "hidden_states[-2] (second-to-last layer, no post-LN), CLS dropped: T x 256 patch tokens", true,
                o -> languageBind(LanguageBindConfig.videoMerge(), o),
                (json, o) -> languageBind(LanguageBindConfig.fromJson(json, "languagebind config.json"), o)));
        add(new Entry("dinov2-video-all-tokens", "dinov2", Dinov2.Preset.VIT_L14_REG4.hubId(), "", 16,
                "block depth-2 output, CLS + 4 registers dropped: T x 256 patch tokens", true,
                o -> Dinov2.encoder("dinov2-video-all-tokens", Dinov2.Preset.VIT_L14_REG4.config().narrower(o.widthDivisor()),
                        o.imageSize(), o.numFrames())));
        add(new Entry("vivit-google-b-all-no-cls-16frames", "vivit", VivitEncoder.HUB_ID, "vivit.", 32,
                "last_hidden_state (after final LN), CLS dropped, all 16 temporal slots x 196", true,
                o -> vivit("vivit-google-b-all-no-cls-16frames", VivitConfig.b16x2(), VivitEncoder.Tokens.ALL_SLOTS, o),
                (json, o) -> vivit("vivit-google-b-all-no-cls-16frames", VivitConfig.fromJson(json, "vivit config.json"), VivitEncoder.Tokens.ALL_SLOTS, o)));
        add(new Entry("vivit-google-b-all-no-cls", "vivit", VivitEncoder.HUB_ID, "vivit.", 32,
                "last_hidden_state (after final LN), CLS dropped, every second temporal slot (8 x 196)", true,
                o -> vivit("vivit-google-b-all-no-cls", VivitConfig.b16x2(), VivitEncoder.Tokens.EVERY_SECOND_SLOT, o),
                (json, o) -> vivit("vivit-google-b-all-no-cls", VivitConfig.fromJson(json, "vivit config.json"), VivitEncoder.Tokens.EVERY_SECOND_SLOT, o)));
        add(new Entry("siglip-vit-b16-224px-all-no-cls", "siglip", Siglip.Preset.VIT_B16_224.hubId(), Siglip.HUB_PREFIX, 16,
                "block depth-2 output, no prefix tokens: T x 196 patch tokens", true,
                o -> Siglip.encoder("siglip-vit-b16-224px-all-no-cls", Siglip.Preset.VIT_B16_224.config().narrower(o.widthDivisor()),
                        o.imageSize(), o.numFrames())));
        add(new Entry("hiera-base-plus-video", "hiera", HieraEncoder.HUB_ID, "", 32,
                "last stage-end intermediate (stage 4, before norm/pool), consecutive 16-frame clips: (F/16) x 8 x 49", true,
                o -> hiera(HieraConfig.basePlus16x224(), o),
                (json, o) -> hiera(HieraConfig.fromJson(json, "hiera config.json"), o)));
        for (String tiny : dev.merv.encoders.tiny.TinyEncoders.ids()) {
            // merv-tiny's random encoders: architecture from the config.json beside their weights
            int frames = tiny.equals(dev.merv.core.config.EncoderCatalog.TINY_HIERA) ? 4 : 2;
            add(new Entry(tiny, "tiny", "merv/" + tiny + " (random, generated locally)", "", frames,
                    "as the family's MERV id, at the merv-forward-tiny fixture geometry", false,
                    o -> dev.merv.encoders.tiny.TinyEncoders.create(tiny, dev.merv.encoders.tiny.TinyEncoders.defaultConfig(tiny),
                            o.numFrames()),
                    (json, o) -> dev.merv.encoders.tiny.TinyEncoders.create(tiny, json, o.numFrames())));
        }
        siglipExtra("siglip-vit-b16-256px-all-no-cls", Siglip.Preset.VIT_B16_256);
        siglipExtra("siglip-vit-b16-384px-all-no-cls", Siglip.Preset.VIT_B16_384);
        siglipExtra("siglip-vit-so400m-14-224px-all-no-cls", Siglip.Preset.SO400M_14_224);
    }

    private static FrozenVideoEncoder languageBind(LanguageBindConfig c, Options o) {
        return new LanguageBindEncoder("languagebind-video-noclass", c.withImageSize(o.imageSize()).narrower(o.widthDivisor()),
                o.numFrames(), new LanguageBindTransform(o.imageSize(), o.flip()), o.grouping());
    }

    private static FrozenVideoEncoder vivit(String id, VivitConfig c, VivitEncoder.Tokens tokens, Options o) {
        return new VivitEncoder(id, c.withImageSize(o.imageSize()).narrower(o.widthDivisor()), o.numFrames(), tokens,
                VivitEncoder.transform(o.imageSize()));
    }

    private static FrozenVideoEncoder hiera(HieraConfig c, Options o) {
        int[] in = c.inputSize();
        return new HieraEncoder("hiera-base-plus-video", c.withInputSize(new int[] {in[0], o.imageSize(), o.imageSize()})
                .narrower(o.widthDivisor()), o.numFrames(), HieraEncoder.transform(o.imageSize()));
    }

    private static void siglipExtra(String id, Siglip.Preset p) {
        add(new Entry(id, "siglip", p.hubId(), Siglip.HUB_PREFIX, 16,
                "block depth-2 output, no prefix tokens (built at the MERV input size, checkpoint grid resampled at load)", false,
                o -> Siglip.encoder(id, p.config().narrower(o.widthDivisor()), o.imageSize(), o.numFrames())));
    }

    private static void add(Entry e) {
        ENTRIES.put(e.id(), e);
    }

    private EncoderRegistry() {}

    public static List<String> ids() {
        return new ArrayList<>(ENTRIES.keySet());
    }

    /** The entry for {@code id}; fails naming the known ids (or why a reference id is unsupported). */
    public static Entry get(String id) {
        Entry e = ENTRIES.get(id);
        if (e == null) {
            String why = REJECTED.get(id);
            throw new IllegalArgumentException("video backbone '" + id + "' "
                    + (why != null ? "is not supported: " + why : "is unknown") + "; known: " + ENTRIES.keySet());
        }
        return e;
    }

    /** The real-size architecture for {@code id} at 224 px with its default frame count. */
    public static FrozenVideoEncoder create(String id) {
        return get(id).create(Options.defaults());
    }

    public static FrozenVideoEncoder create(String id, Options options) {
        return get(id).create(options);
    }

    /**
     * Builds {@code id} (validating the options first), loads its weights from {@code source} (the
     * hub checkpoint's layout unless {@code prefix} overrides it, e.g. {@code video_backbones.0.featurizer.}
     * in a MERV checkpoint), casts to {@code dtype} and freezes it.
     */
    public static FrozenVideoEncoder load(String id, Options options, WeightSource source, String prefix, NDManager manager,
            ScalarType dtype) {
        return load(get(id), get(id).create(options), source, prefix, manager, dtype);
    }

    /**
     * Loads {@code id} from a checkpoint directory (or HF cache repo id, see
     * {@link ModelDirectory#resolve}); the architecture comes from its {@code config.json} where the
     * family has one, else from the preset, and is validated before any tensor is read. A null
     * {@code prefix} means the hub layout's.
     */
    public static FrozenVideoEncoder load(String id, Options options, String dirOrRepo, String prefix, NDManager manager,
            ScalarType dtype) {
        Entry e = get(id);
        Path path = ModelDirectory.resolve(dirOrRepo);
        JsonObject cfg = Files.exists(path.resolve("config.json")) ? ModelDirectory.readConfig(path) : null;
        FrozenVideoEncoder enc = e.create(cfg, options);
        try (ModelDirectory dir = ModelDirectory.open(path)) {
            return load(e, enc, dir, prefix, manager, dtype);
        }
    }

    private static FrozenVideoEncoder load(Entry e, FrozenVideoEncoder enc, WeightSource source, String prefix, NDManager manager,
            ScalarType dtype) {
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
