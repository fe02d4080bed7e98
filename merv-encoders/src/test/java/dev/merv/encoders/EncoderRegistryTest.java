package dev.merv.encoders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.merv.core.catalog.Provenance;
import dev.merv.core.model.FrameTransform;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import dev.merv.encoders.transform.Filter;
import dev.merv.encoders.transform.ResizeNaiveTransform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The registry against docs/reference.md §2.2 (architectures only; no weights are read). */
class EncoderRegistryTest {

    @ParameterizedTest(name = "[{0}]")
    @CsvSource({
        "languagebind-video-noclass, 16, 16, 256, 1024, CTHW, ",
        "dinov2-video-all-tokens, 16, 16, 256, 1024, TCHW, BICUBIC",
        "vivit-google-b-all-no-cls-16frames, 32, 16, 196, 768, TCHW, BILINEAR",
        "vivit-google-b-all-no-cls, 32, 8, 196, 768, TCHW, BILINEAR",
        "siglip-vit-b16-224px-all-no-cls, 16, 16, 196, 768, TCHW, BICUBIC",
        "hiera-base-plus-video, 32, 16, 49, 896, TCHW, BILINEAR",
    })
    void referenceIds(String id, int frames, int temporal, int spatial, int dim, String layout, String filter) {
        FrozenVideoEncoder e = EncoderRegistry.create(id);
        assertEquals(id, e.id());
        assertEquals(frames, e.numFrames());
        assertEquals(temporal, e.temporalResolution());
        assertEquals(spatial, e.spatialResolution());
        assertEquals(dim, e.embedDim());
        assertEquals(224, e.transform().height());
        assertEquals(224, e.transform().width());
        assertEquals(FrameTransform.Layout.valueOf(layout), e.transform().layout());
        if (filter != null) {
            assertEquals(Filter.valueOf(filter), ((ResizeNaiveTransform) e.transform()).filter());
        } else {
            assertEquals(LanguageBindTransform.Flip.TRAINING, ((LanguageBindTransform) e.transform()).flip());
        }
        assertEquals(Provenance.REFERENCE, EncoderRegistry.get(id).provenance());
    }

    @Test
    void realParameterCounts() {
        // DINOv2 ViT-L/14 reg4 ~304M, SigLIP B/16 ~86M without its MAP head, LanguageBind ViT-L + temporal ~ 405M
        long dino = EncoderRegistry.create("dinov2-video-all-tokens").module().parameterCount();
        assertTrue(dino > 300_000_000L && dino < 310_000_000L, "dinov2 " + dino);
        long siglip = EncoderRegistry.create("siglip-vit-b16-224px-all-no-cls").module().parameterCount();
        assertTrue(siglip > 85_000_000L && siglip < 87_000_000L, "siglip " + siglip);
        long vivit = EncoderRegistry.create("vivit-google-b-all-no-cls-16frames").module().parameterCount();
        assertTrue(vivit > 85_000_000L && vivit < 90_000_000L, "vivit " + vivit);
    }

    @Test
    void frameCountsThatCannotWorkAreRejectedNamingEncoderAndCount() {
        EncoderRegistry.Options o = EncoderRegistry.Options.defaults();
        assertRejected("languagebind-video-noclass", o.withFrames(12), "12");
        assertRejected("hiera-base-plus-video", o.withFrames(24), "24");
        assertRejected("vivit-google-b-all-no-cls-16frames", o.withFrames(31), "31");
        assertRejected("vivit-google-b-all-no-cls-16frames", o.withFrames(64), "64");
        assertRejected("siglip-vit-b16-224px-all-no-cls", o.withFrames(-1), "-1");
        // multiples the architectures do take
        assertEquals(32, EncoderRegistry.create("languagebind-video-noclass", o.withFrames(32)).temporalResolution());
        assertEquals(32, EncoderRegistry.create("hiera-base-plus-video", o.withFrames(64)).temporalResolution());
    }

    @Test
    void unknownAndUnsupportedIds() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EncoderRegistry.get("clip-vit"));
        assertTrue(e.getMessage().contains("clip-vit") && e.getMessage().contains("dinov2-video-all-tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EncoderRegistry.get("siglip-vit-b16-224px-all-tokens"));
        assertTrue(e.getMessage().contains("W20"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> EncoderRegistry.create("languagebind-video-averagetoken"));
        assertTrue(e.getMessage().contains("not implemented in merv") && e.getMessage().contains("languagebind-video-noclass"),
                e.getMessage());
    }

    @Test
    void sizesThatDoNotDivideFail() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EncoderRegistry.create("siglip-vit-b16-224px-all-no-cls", EncoderRegistry.Options.defaults().withImageSize(230)));
        assertTrue(e.getMessage().contains("230"), e.getMessage());
    }

    @Test
    void checkpointConfigsTakeHfDefaultsAndNameBadKeys() {
        com.google.gson.JsonObject empty = new com.google.gson.JsonObject();
        dev.merv.encoders.vivit.VivitConfig v = dev.merv.encoders.vivit.VivitConfig.fromJson(empty, "config.json");
        // HF's VivitConfig defaults are the b16x2 checkpoint's values
        dev.merv.encoders.vivit.VivitConfig hub = dev.merv.encoders.vivit.VivitConfig.fromJson(
                dev.merv.core.catalog.Catalog.encoder("vivit-google-b-all-no-cls-16frames").config(), "catalog");
        assertEquals(hub.numTubelets(), v.numTubelets());
        assertEquals(hub.hiddenAct(), v.hiddenAct());
        com.google.gson.JsonObject bad = com.google.gson.JsonParser.parseString(
                "{\"vision_config\": {\"hidden_size\": \"wide\"}}").getAsJsonObject();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> dev.merv.encoders.languagebind.LanguageBindConfig.fromJson(bad, "lb/config.json"));
        assertTrue(e.getMessage().contains("lb/config.json") && e.getMessage().contains("hidden_size"), e.getMessage());
        com.google.gson.JsonObject act = com.google.gson.JsonParser.parseString("{\"hidden_act\": \"swish\"}").getAsJsonObject();
        e = assertThrows(IllegalArgumentException.class, () -> dev.merv.encoders.vivit.VivitConfig.fromJson(act, "v/config.json"));
        assertTrue(e.getMessage().contains("swish"), e.getMessage());
    }

    private static void assertRejected(String id, EncoderRegistry.Options o, String count) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EncoderRegistry.create(id, o));
        assertTrue(e.getMessage().contains(id) && e.getMessage().contains(count), e.getMessage());
    }
}
