package dev.merv.core.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.config.ConfigException;
import dev.merv.core.config.ConfigValidator;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.torch.ScalarType;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The catalog's shape: every id the reference registers is there, unsupported ones say why and are refused. */
class CatalogTest {

    /** The reference's video-backbone registry (its {@code materialize.py}), plus the W20 Hiera id it lists elsewhere. */
    static final List<String> REFERENCE_ENCODERS = List.of("dinov2-video", "dinov2-video-all-tokens",
            "dinov2-video-all-token-with-cls", "dinov2-video-classemb-at-first", "languagebind-video",
            "languagebind-video-averagetoken", "languagebind-video-classemb", "languagebind-video-noclass",
            "languagebind-video-classemb-at-first", "vivit-google-b-cls-token", "vivit-google-b-all-tokens",
            "vivit-google-b-all-no-cls", "vivit-google-b-all-no-cls-16frames", "vivit-google-b-classemb-at-first-16frames",
            "siglip-vit-b16-224px", "siglip-vit-b16-224px-all-tokens", "siglip-vit-b16-224px-all-no-cls",
            "siglip-vit-b16-224px-classemb-at-first", "siglip-vit-b16-256px", "siglip-vit-b16-256px-all-tokens",
            "siglip-vit-b16-384px", "siglip-vit-b16-384px-all-tokens", "siglip-vit-so400m", "siglip-vit-so400m-all-tokens",
            "siglip-vit-so400m-384px", "siglip-vit-so400m-384px-all-tokens", "hiera-base-video", "hiera-base-plus-video",
            "hiera-large-video", "hiera-base-video-noft");

    /** The reference's LLM registry. */
    static final List<String> REFERENCE_LLMS = List.of("llama2-7b-pure", "llama2-13b-pure", "llama2-7b-chat",
            "llama2-13b-chat", "vicuna-v15-7b", "vicuna-v15-13b", "llama3-8b-pure", "llama3-8b-chat", "llama3.1-8b-chat",
            "qwen2.5-7b-instruct", "qwen2.5-3b-instruct");

    @Test
    void everyReferenceIdIsAnEntryMarkedReference() {
        Set<String> ref = Catalog.encoders().stream().filter(e -> e.provenance() == Provenance.REFERENCE)
                .map(EncoderEntry::id).collect(Collectors.toSet());
        assertThat(ref).containsExactlyInAnyOrderElementsOf(REFERENCE_ENCODERS);
        Set<String> refLlms = Catalog.llms().stream().filter(e -> e.provenance() == Provenance.REFERENCE)
                .map(LlmEntry::id).collect(Collectors.toSet());
        assertThat(refLlms).containsExactlyInAnyOrderElementsOf(REFERENCE_LLMS);
    }

    @Test
    void supportedAndUnsupportedEntries() {
        assertThat(Catalog.supportedEncoderIds()).contains(Catalog.LANGUAGEBIND, Catalog.DINOV2, Catalog.VIVIT,
                Catalog.SIGLIP, Catalog.HIERA, "vivit-google-b-all-no-cls", Catalog.TINY_LANGUAGEBIND, Catalog.TINY_DINOV2,
                Catalog.TINY_HIERA, Catalog.TINY_SIGLIP);
        for (EncoderEntry e : Catalog.encoders()) {
            if (e.supported()) {
                assertThat(e.config()).as(e.id()).isNotNull();
                assertThat(e.geometry()).as(e.id()).isNotNull();
                assertThat(e.transform().height()).as(e.id()).isPositive();
                assertThat(e.transform().width()).as(e.id()).isPositive();
                assertThat(e.defaultFrames() % e.geometry().frameMultiple()).as(e.id() + " default frames").isZero();
                if (e.provenance() != Provenance.MERV_TINY) {
                    assertThat(e.transform().height()).as(e.id() + ": MERV builds every checkpoint at 224 px").isEqualTo(224);
                    assertThat(e.transform().width()).as(e.id() + ": MERV builds every checkpoint at 224 px").isEqualTo(224);
                    assertThat(e.hub()).as(e.id()).isNotNull();
                }
            } else {
                assertThat(e.provenance()).as(e.id()).isEqualTo(Provenance.REFERENCE);
                assertThat(e.unsupported()).as(e.id()).isNotBlank();
                assertThat(e.config()).isNull();
                assertThat(e.geometry()).isNull();
            }
        }
        // the W20 ones carry the reference's own failure
        for (String id : List.of("siglip-vit-b16-224px-all-tokens", "siglip-vit-so400m-all-tokens", "hiera-base-video",
                "hiera-base-video-noft")) {
            assertThat(Catalog.encoder(id).unsupported()).as(id).contains("W20");
        }
        assertThat(Catalog.encoder("dinov2-video").unsupported()).startsWith("not implemented in merv: ");
        assertThatThrownBy(() -> Catalog.supportedEncoder("siglip-vit-b16-224px-all-tokens"))
                .hasMessageContaining("siglip-vit-b16-224px-all-tokens").hasMessageContaining("W20")
                .hasMessageContaining(Catalog.SIGLIP);
        assertThatThrownBy(() -> Catalog.encoder("clip-vit")).hasMessageContaining("clip-vit")
                .hasMessageContaining(Catalog.DINOV2);
        // the returned config is a copy
        Catalog.encoder(Catalog.DINOV2).config().addProperty("depth", 1);
        assertThat(Catalog.encoder(Catalog.DINOV2).config().get("depth").getAsInt()).isEqualTo(24);
    }

    @Test
    void llmEntriesCarryTheTextSetUp() {
        LlmEntry l3 = Catalog.llm("llama3-8b-pure");
        assertThat(l3.tokenizer()).isEqualTo(new HubRef("meta-llama/Meta-Llama-3-8B", "refs/pr/41"));
        LlmEntry l3chat = Catalog.llm("llama3-8b-chat");
        assertThat(l3chat.hub().repo()).isEqualTo("meta-llama/Meta-Llama-3-8B-Instruct");
        assertThat(l3chat.tokenizer().toString()).as("W20: the base repo's tokenizer").isEqualTo("meta-llama/Meta-Llama-3-8B@refs/pr/42");
        assertThat(l3chat.prompt()).isEqualTo(PromptFormat.LLAMA2_CHAT);
        assertThat(Catalog.llm("llama2-7b-pure").tokenizer()).isNull();
        assertThat(Catalog.llm("qwen2.5-7b-instruct").inferenceDtype()).as("W21").isEqualTo(ScalarType.FLOAT16);
        assertThat(Catalog.llm("qwen2.5-7b-instruct").pad()).as("W5").isEqualTo(PadToken.qwenReference());
        assertThat(Catalog.llm("llama2-7b-pure").embeddingRows(32000, 32001)).isEqualTo(32064);
        assertThat(Catalog.llm("llama3.1-8b-chat").embeddingRows(128256, 128256)).isEqualTo(128256);
        for (LlmEntry e : Catalog.llms()) {
            assertThat(e.hasConfig()).as(e.id()).isEqualTo(e.provenance() != Provenance.TEST_FIXTURE);
            if (e.hasConfig()) {
                assertThat(e.hiddenSize()).as(e.id()).isPresent();
                assertThat(e.config().get("model_type").getAsString()).as(e.id())
                        .isEqualTo(e.family() == LlmFamily.QWEN2 ? "qwen2" : "llama");
            }
        }
        assertThat(Catalog.llm("qwen2.5-7b-instruct").hiddenSize()).hasValue(3584);
        assertThatThrownBy(() -> Catalog.llm("gpt-2")).hasMessageContaining("gpt-2").hasMessageContaining("llama2-7b-pure");
    }

    @Test
    void validationRefusesUnsupportedIdsNamingTheReasonBeforeAnythingLoads() {
        ModelConfig base = ModelRegistry.get(ModelRegistry.MERV_BASE);
        for (EncoderEntry e : Catalog.encoders()) {
            if (e.supported()) {
                continue;
            }
            ModelConfig m = base.with("video_backbone_ids", "[" + e.id() + "]").with("num_frames", "[16]");
            for (boolean geometry : new boolean[] {true, false}) {
                assertThatThrownBy(() -> ConfigValidator.validateModel(m, geometry)).as(e.id())
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("'" + e.id() + "'")
                        .hasMessageContaining(e.unsupported())
                        .hasMessageContaining(Catalog.SIGLIP);
            }
        }
        ModelConfig unknown = base.with("video_backbone_ids", "[clip-vit]").with("num_frames", "[16]");
        assertThatThrownBy(() -> ConfigValidator.validateModel(unknown)).hasMessageContaining("clip-vit")
                .hasMessageContaining("supported encoder ids are");
        assertThatThrownBy(() -> ConfigValidator.validateModel(base.with("llm_backbone_id", "gpt-2")))
                .hasMessageContaining("gpt-2").hasMessageContaining("qwen2.5-7b-instruct");
        // frame counts the catalog geometry rules out fail naming the encoder and its multiple
        assertThatThrownBy(() -> ConfigValidator.validateModel(base.with("num_frames", "[12,12,36,12]")))
                .hasMessageContaining("num_frames[0]=12").hasMessageContaining(Catalog.LANGUAGEBIND)
                .hasMessageContaining("multiple of 8");
    }
}
