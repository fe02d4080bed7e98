package dev.merv.core.catalog;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One video-encoder id of the catalog. Write entries with {@link #builder}; a supported entry has every
 * field, an unsupported one only its id, family, provenance, checkpoint and the reason.
 *
 * @param hub the checkpoint; null for backbones that only exist locally (tiny ones)
 * @param config the architecture in the family's upstream naming (HF {@code config.json} keys for
 *     LanguageBind and ViViT, timm kwargs for SigLIP and DINOv2 at the checkpoint's native size, hiera
 *     kwargs for Hiera); {@link #config()} returns a copy
 * @param checkpointPrefix where the tower's tensor names start in the hub checkpoint
 * @param defaultFrames frames MERV feeds this id
 * @param transform the frame preprocessing at the size MERV builds the encoder for
 * @param tokens which layer and tokens make the features
 * @param geometry the output geometry at {@code transform.size()}
 * @param unsupported null when merv builds this id, else why it does not
 */
public record EncoderEntry(String id, EncoderFamily family, Provenance provenance, HubRef hub, JsonObject config,
        String checkpointPrefix, int defaultFrames, FrameTransformSpec transform, TokenPolicy tokens, EncoderGeometry geometry,
        String unsupported) {

    /** Whether merv can build this id. */
    public boolean supported() {
        return unsupported == null;
    }

    /** A copy of the upstream config values (null for an unsupported id). */
    @Override
    public JsonObject config() {
        return config == null ? null : config.deepCopy();
    }

    /** Starts an entry for {@code id}. */
    public static Builder builder(String id) {
        return new Builder(id);
    }

    /** Named-field construction of an {@link EncoderEntry}; {@link #build} fails naming what is missing. */
    public static final class Builder {
        private final String id;
        private EncoderFamily family;
        private Provenance provenance;
        private HubRef hub;
        private JsonObject config;
        private String checkpointPrefix;
        private int defaultFrames;
        private FrameTransformSpec transform;
        private TokenPolicy tokens;
        private int embedDim;
        private int tokensPerSlot;
        private int framesPerSlot;
        private int frameMultiple;
        private String unsupported;

        private Builder(String id) {
            this.id = Objects.requireNonNull(id, "id");
        }

        public Builder family(EncoderFamily v) { family = v; return this; }
        public Builder provenance(Provenance v) { provenance = v; return this; }
        /** The checkpoint at {@code main}. */
        public Builder hub(String repo) { hub = HubRef.of(repo); return this; }
        /** Upstream config values as JSON text, in the family's naming. */
        public Builder config(String json) { config = JsonParser.parseString(json).getAsJsonObject(); return this; }
        public Builder checkpointPrefix(String v) { checkpointPrefix = v; return this; }
        public Builder defaultFrames(int v) { defaultFrames = v; return this; }
        public Builder transform(FrameTransformSpec v) { transform = v; return this; }
        public Builder tokens(TokenPolicy v) { tokens = v; return this; }
        public Builder embedDim(int v) { embedDim = v; return this; }
        public Builder tokensPerSlot(int v) { tokensPerSlot = v; return this; }
        public Builder framesPerSlot(int v) { framesPerSlot = v; return this; }
        public Builder frameMultiple(int v) { frameMultiple = v; return this; }
        /** Marks the id as one merv cannot build, and why. */
        public Builder unsupported(String reason) { unsupported = reason; return this; }

        public EncoderEntry build() {
            List<String> missing = new ArrayList<>();
            if (family == null) {
                missing.add("family");
            }
            if (provenance == null) {
                missing.add("provenance");
            }
            if (unsupported != null) {
                if (!missing.isEmpty()) {
                    throw new IllegalStateException("encoder entry " + id + ": missing " + missing);
                }
                return new EncoderEntry(id, family, provenance, hub, null, null, 0, null, null, null, unsupported);
            }
            if (hub == null && (provenance == Provenance.REFERENCE || provenance == Provenance.MERV_EXTRA)) {
                missing.add("hub");
            }
            if (config == null) {
                missing.add("config");
            }
            if (checkpointPrefix == null) {
                missing.add("checkpointPrefix");
            }
            if (defaultFrames <= 0) {
                missing.add("defaultFrames");
            }
            if (transform == null) {
                missing.add("transform");
            }
            if (tokens == null) {
                missing.add("tokens");
            }
            if (embedDim <= 0 || tokensPerSlot <= 0 || framesPerSlot <= 0 || frameMultiple <= 0) {
                missing.add("geometry (embedDim, tokensPerSlot, framesPerSlot, frameMultiple)");
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException("encoder entry " + id + ": missing " + missing);
            }
            return new EncoderEntry(id, family, provenance, hub, config, checkpointPrefix, defaultFrames, transform, tokens,
                    new EncoderGeometry(embedDim, tokensPerSlot, framesPerSlot, frameMultiple), null);
        }
    }
}
