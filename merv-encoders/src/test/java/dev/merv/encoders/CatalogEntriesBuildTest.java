package dev.merv.encoders;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.EncoderEntry;
import dev.merv.core.catalog.EncoderGeometry;
import dev.merv.core.catalog.FrameTransformSpec;
import dev.merv.core.catalog.Provenance;
import dev.merv.core.model.FrameTransform;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import dev.merv.encoders.transform.Filter;
import dev.merv.encoders.transform.ResizeNaiveTransform;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every supported catalog entry builds at its real size through the family's parser, its geometry is what
 * the built encoder reports, its transform is what the encoder runs, and it equals what the former
 * per-module registry built ({@code catalog/encoders-before-catalog.json}, dumped from that code before the
 * catalog replaced it).
 */
class CatalogEntriesBuildTest {

    static List<String> supported() {
        return Catalog.supportedEncoderIds();
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("supported")
    void geometryIsWhatTheBuiltEncoderReports(String id) {
        EncoderEntry e = Catalog.encoder(id);
        EncoderGeometry g = e.geometry();
        FrozenVideoEncoder enc = EncoderRegistry.create(id);
        assertThat(enc.embedDim()).as("embedDim").isEqualTo(g.embedDim());
        assertThat(enc.spatialResolution()).as("tokensPerSlot").isEqualTo(g.tokensPerSlot());
        assertThat(enc.numFrames()).isEqualTo(e.defaultFrames());
        assertThat(enc.temporalResolution()).as("frames / framesPerSlot").isEqualTo(g.temporalResolution(e.defaultFrames()));
        assertThat(enc.imageHeight()).isEqualTo(e.transform().height());
        assertThat(enc.imageWidth()).isEqualTo(e.transform().width());
        // the frame multiple: the encoder takes exactly that many frames and refuses one more
        EncoderRegistry.Options o = EncoderRegistry.Options.defaults();
        FrozenVideoEncoder atMultiple = EncoderRegistry.create(id, o.withFrames(g.frameMultiple()));
        assertThat(atMultiple.temporalResolution()).isEqualTo(g.temporalResolution(g.frameMultiple()));
        if (g.frameMultiple() > 1) {
            assertThatThrownBy(() -> EncoderRegistry.create(id, o.withFrames(g.frameMultiple() + 1)))
                    .hasMessageContaining(id).hasMessageContaining(String.valueOf(g.frameMultiple() + 1));
        }
        // the transform the encoder runs is the entry's
        assertTransformIs(e.transform(), enc.transform());
    }

    static void assertTransformIs(FrameTransformSpec spec, FrameTransform t) {
        assertThat(t.height()).isEqualTo(spec.height());
        assertThat(t.width()).isEqualTo(spec.width());
        switch (spec.kind()) {
            case CLIP_VIDEO -> {
                LanguageBindTransform lb = (LanguageBindTransform) t;
                assertThat(lb.mean()).containsExactly(spec.meanArray());
                assertThat(lb.std()).containsExactly(spec.stdArray());
                assertThat(lb.flip()).isEqualTo(LanguageBindTransform.Flip.TRAINING);
            }
            case PIL_FRAMES -> {
                ResizeNaiveTransform r = (ResizeNaiveTransform) t;
                assertThat(r.filter().name()).isEqualTo(spec.interpolation().name());
                assertThat(r.mean()).containsExactly(spec.meanArray());
                assertThat(r.std()).containsExactly(spec.stdArray());
            }
            default -> throw new AssertionError(spec.kind());
        }
    }

    @Test
    void equalsTheFormerRegistry() throws IOException {
        JsonObject before;
        try (InputStream in = CatalogEntriesBuildTest.class.getResourceAsStream("/catalog/encoders-before-catalog.json")) {
            assertThat(in).isNotNull();
            before = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
        assertThat(new HashSet<>(EncoderRegistry.ids())).isEqualTo(before.keySet());
        for (String id : before.keySet()) {
            JsonObject was = before.getAsJsonObject(id);
            EncoderEntry e = EncoderRegistry.get(id);
            FrozenVideoEncoder enc = EncoderRegistry.create(id);
            String at = id + ": ";
            assertThat(enc.getClass().getSimpleName()).as(at + "class").isEqualTo(was.get("class").getAsString());
            assertThat(enc.numFrames()).as(at + "frames").isEqualTo(was.get("num_frames").getAsInt());
            assertThat(e.defaultFrames()).as(at + "default frames").isEqualTo(was.get("default_frames").getAsInt());
            assertThat(enc.imageHeight()).as(at + "image size").isEqualTo(was.get("image_size").getAsInt());
            assertThat(enc.imageWidth()).as(at + "image size").isEqualTo(was.get("image_size").getAsInt());
            assertThat(enc.temporalResolution()).as(at + "temporal").isEqualTo(was.get("temporal_resolution").getAsInt());
            assertThat(enc.spatialResolution()).as(at + "spatial").isEqualTo(was.get("spatial_resolution").getAsInt());
            assertThat(enc.embedDim()).as(at + "embed dim").isEqualTo(was.get("embed_dim").getAsInt());
            assertThat(enc.module().parameterCount()).as(at + "parameters").isEqualTo(was.get("parameters").getAsLong());
            assertThat(enc.transform().getClass().getSimpleName()).as(at + "transform")
                    .isEqualTo(was.get("transform").getAsString());
            assertThat(enc.transform().height()).as(at + "transform size").isEqualTo(was.get("transform_size").getAsInt());
            assertThat(enc.transform().width()).as(at + "transform size").isEqualTo(was.get("transform_size").getAsInt());
            assertThat(enc.layout().name()).as(at + "layout").isEqualTo(was.get("layout").getAsString());
            if (enc.transform() instanceof ResizeNaiveTransform r) {
                assertThat(r.filter()).as(at + "filter").isEqualTo(Filter.valueOf(was.get("filter").getAsString()));
            } else {
                assertThat(((LanguageBindTransform) enc.transform()).flip().name()).isEqualTo(was.get("flip").getAsString());
            }
            boolean wasTiny = was.get("family").getAsString().equals("tiny");
            assertThat(e.provenance() == Provenance.MERV_TINY).as(at + "tiny").isEqualTo(wasTiny);
            assertThat(e.provenance() == Provenance.REFERENCE).as(at + "in reference").isEqualTo(was.get("in_reference").getAsBoolean());
            if (!wasTiny) {
                assertThat(e.family().name().toLowerCase()).as(at + "family").isEqualTo(was.get("family").getAsString());
                assertThat(e.hub().repo()).as(at + "checkpoint").isEqualTo(was.get("checkpoint").getAsString());
                assertThat(e.hub().revision()).isNull();
                assertThat(e.checkpointPrefix()).as(at + "prefix").isEqualTo(was.get("checkpoint_prefix").getAsString());
            } else {
                assertThat(e.hub()).as(at + "tiny weights are written locally").isNull();
            }
        }
    }

    @Test
    void onlySupportedIdsAreBuilt() {
        Set<String> unsupported = new HashSet<>();
        for (EncoderEntry e : Catalog.encoders()) {
            if (!e.supported()) {
                unsupported.add(e.id());
                assertThatThrownBy(() -> EncoderRegistry.create(e.id())).hasMessageContaining(e.unsupported());
            }
        }
        assertThat(unsupported).hasSize(24).doesNotContainAnyElementsOf(EncoderRegistry.ids());
    }
}
