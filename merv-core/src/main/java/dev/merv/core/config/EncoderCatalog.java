package dev.merv.core.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The video encoder ids merv knows, with the output geometry that configuration validation needs
 * before any encoder is built. The implementations live in {@code merv-encoders}; this list is the
 * reference registry ({@code merv/models/materialize.py}) plus the tiny test encoders.
 *
 * <p>Geometry per id: embedding width, tokens per temporal slot (a perfect square for every id used
 * by the token resamplers), how many input frames make one temporal slot, and the frame multiple the
 * encoder needs. Ids whose geometry is not documented in the reference spec carry no shape; their
 * visual length is checked when the encoder is built ({@code Merv}'s constructor).
 */
public final class EncoderCatalog {

    /** Output geometry of one encoder id; {@code embedDim == 0} means "not known before building". */
    public record Spec(String id, int embedDim, int spatialResolution, int framesPerSlot, int frameMultiple) {

        public boolean hasShape() {
            return embedDim > 0;
        }

        /** Temporal slots produced from {@code frames} input frames. */
        public int temporalResolution(int frames) {
            return frames / framesPerSlot;
        }
    }

    public static final String TINY_LANGUAGEBIND = "languagebind-video-noclass-tiny";
    public static final String TINY_DINOV2 = "dinov2-video-all-tokens-tiny";
    public static final String TINY_HIERA = "hiera-base-plus-video-tiny";
    public static final String TINY_SIGLIP = "siglip-vit-b16-224px-all-no-cls-tiny";

    private static final Map<String, Spec> SPECS = new LinkedHashMap<>();

    static {
        // shapes from merv-reference.md §2.2 (224 px inputs)
        shape("languagebind-video-noclass", 1024, 256, 1, 1);
        shape("dinov2-video-all-tokens", 1024, 256, 1, 1);
        shape("vivit-google-b-all-no-cls-16frames", 768, 196, 2, 2);
        shape("vivit-google-b-all-no-cls", 768, 196, 4, 4);
        shape("siglip-vit-b16-224px-all-no-cls", 768, 196, 1, 1);
        shape("hiera-base-plus-video", 896, 49, 2, 16);
        // registered upstream, geometry not pinned by the spec
        for (String id : new String[] {"dinov2-video", "dinov2-video-all-token-with-cls", "dinov2-video-classemb-at-first",
                "languagebind-video", "languagebind-video-averagetoken", "languagebind-video-classemb",
                "languagebind-video-classemb-at-first", "vivit-google-b-cls-token", "vivit-google-b-all-tokens",
                "vivit-google-b-classemb-at-first-16frames", "siglip-vit-b16-224px", "siglip-vit-b16-224px-all-tokens",
                "siglip-vit-b16-224px-classemb-at-first", "siglip-vit-b16-256px", "siglip-vit-b16-256px-all-tokens",
                "siglip-vit-b16-384px", "siglip-vit-b16-384px-all-tokens", "siglip-vit-so400m",
                "siglip-vit-so400m-all-tokens", "siglip-vit-so400m-384px", "siglip-vit-so400m-384px-all-tokens",
                "hiera-base-video", "hiera-large-video"}) {
            SPECS.put(id, new Spec(id, 0, 0, 1, 1));
        }
        // tiny random encoders for tests and the demo: the geometry of the merv-forward-tiny fixture
        // (config.json video_backbones: languagebind 42px/14, dinov2 28px/14, hiera 64px 2-frame clips, siglip 32px/8)
        shape(TINY_LANGUAGEBIND, 24, 9, 1, 1);
        shape(TINY_DINOV2, 20, 4, 1, 1);
        shape(TINY_HIERA, 32, 4, 2, 2);
        shape(TINY_SIGLIP, 16, 16, 1, 1);
    }

    private EncoderCatalog() {}

    private static void shape(String id, int dim, int spatial, int framesPerSlot, int multiple) {
        SPECS.put(id, new Spec(id, dim, spatial, framesPerSlot, multiple));
    }

    public static Set<String> ids() {
        return Collections.unmodifiableSet(SPECS.keySet());
    }

    public static boolean isKnown(String id) {
        return SPECS.containsKey(id);
    }

    public static Optional<Spec> spec(String id) {
        return Optional.ofNullable(SPECS.get(id));
    }
}
