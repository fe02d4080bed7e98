package dev.merv.build;

import ai.djl.ndarray.NDManager;
import dev.merv.core.config.ConfigValidator;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.EncoderEntry;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.projector.ArchSpecifier;
import dev.merv.core.weights.BackboneWeights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * Builds a MERV model: a registered preset by name, or any composition of typed pieces (encoders, the
 * projector, the fusion, the LLM), with where the weights are, the precision and the seed.
 *
 * <pre>{@code
 * Merv base = MervBuilder.preset("merv-base").weights(BackboneWeights.hfCache()).build(manager);
 *
 * Merv custom = MervBuilder.custom("my-merv")
 *         .encoders(Encoder.languageBind(), Encoder.siglip().frames(8))
 *         .projector("3davg", "linear", 16)          // resampler, head, tokens per frame
 *         .fusion("cross_attention_avg_lq", 3072)
 *         .llm("llama3.1-8b-chat")
 *         .precision(Precision.BF16)
 *         .build(manager);
 * }</pre>
 *
 * Pieces compile to a {@link ModelConfig} ({@link #config()}, validated before any weight is read: the same
 * configuration {@code ./merv pretrain --model.*} flags give), which {@link MervModels} builds: one code
 * path for the launcher, training, inference and this builder.
 */
public final class MervBuilder {

    /**
     * One video encoder of a custom composition: a backbone id of the catalog, its frame count and,
     * optionally, the directory its weights are in (else the builder's {@link BackboneWeights}).
     */
    public record Encoder(String id, int frames, Path weights) {

        /** LanguageBind video (CLIP ViT-L/14 + temporal attention), 16 frames, CLS dropped. */
        public static Encoder languageBind() {
            return new Encoder(Catalog.LANGUAGEBIND, 16, null);
        }

        /** DINOv2 ViT-L/14 with registers, 16 frames, all patch tokens. */
        public static Encoder dinov2() {
            return new Encoder(Catalog.DINOV2, 16, null);
        }

        /** Hiera base-plus video, 32 frames (two 16-frame clips). */
        public static Encoder hiera() {
            return new Encoder(Catalog.HIERA, 32, null);
        }

        /** SigLIP ViT-B/16 224 px, 16 frames, all tokens. */
        public static Encoder siglip() {
            return new Encoder(Catalog.SIGLIP, 16, null);
        }

        /** ViViT-B 16x2 (Kinetics-400), 32 frames, all 16 temporal slots. */
        public static Encoder vivit() {
            return new Encoder(Catalog.VIVIT, 32, null);
        }

        /** Any catalog id. */
        public static Encoder of(String id, int frames) {
            return new Encoder(id, frames, null);
        }

        public Encoder frames(int n) {
            return new Encoder(id, n, weights);
        }

        /** Read this encoder's weights from {@code dir} (an HF-layout checkpoint directory). */
        public Encoder weights(Path dir) {
            return new Encoder(id, frames, dir);
        }
    }

    private ModelConfig config;
    private final List<Encoder> encoders = new ArrayList<>();
    private boolean encodersSet;
    private BackboneWeights weights = BackboneWeights.hfCache();
    private Precision precision = Precision.FP32;
    private MervModels.Purpose purpose = MervModels.Purpose.INFERENCE;
    private long seed = 7;
    private ExecutorService encoderExecutor;
    private LoraConfig lora;

    private MervBuilder(ModelConfig config) {
        this.config = config;
    }

    /** A registered preset ({@code merv-base}, {@code merv-full}, {@code *-single}, {@code merv-tiny}). */
    public static MervBuilder preset(String modelType) {
        return new MervBuilder(ModelRegistry.get(modelType));
    }

    /** A model configuration you already have (e.g. a run's). */
    public static MervBuilder of(ModelConfig config) {
        return new MervBuilder(config);
    }

    /**
     * A custom composition named {@code modelId}, starting from merv-base's values (encoders, projector,
     * fusion, LLM and per-stage training hyper-parameters) until a piece is set.
     */
    public static MervBuilder custom(String modelId) {
        return new MervBuilder(ModelRegistry.get(ModelRegistry.MERV_BASE).with("model_id", modelId));
    }

    /** Replaces the encoder list. */
    public MervBuilder encoders(Encoder... list) {
        encoders.clear();
        encoders.addAll(List.of(list));
        encodersSet = true;
        return this;
    }

    /**
     * The token resampler ({@code 3davg}, {@code avg}, {@code attntv}, {@code conv}, {@code 3dconv}), the head
     * ({@code linear}, {@code gelu-mlp}, {@code fused-gelu-mlp}, {@code none}) and the tokens each output frame
     * keeps (a perfect square for the pooling resamplers); single-stage ({@code no-align}) as merv-base.
     */
    public MervBuilder projector(String resampler, String head, int tokensPerFrame) {
        config = config.with("arch_specifier", (ArchSpecifier.parse(config.archSpecifier()).noAlign() ? "no-align+" : "")
                + resampler + "+" + head).with("projector_token_length", Integer.toString(tokensPerFrame));
        return this;
    }

    /** Whether the projectors need an align stage first ({@code merv-full}'s recipe) or start fresh in finetune. */
    public MervBuilder twoStage(boolean on) {
        String arch = config.archSpecifier().replaceFirst("^no-align\\+", "");
        config = config.with("arch_specifier", on ? arch : "no-align+" + arch);
        return this;
    }

    /** The fusion type ({@code cross_attention_avg_lq}, {@code scalar}, {@code concat_channel}, ...) and its width. */
    public MervBuilder fusion(String type, int embedDim) {
        config = config.with("feature_fusion", type).with("fusion_embed_dim", Integer.toString(embedDim));
        return this;
    }

    /** The LLM by catalog id (Llama 2 / Vicuna / Llama 3.1 / Qwen2.5 presets, or a tiny test LLM). */
    public MervBuilder llm(String llmId) {
        config = config.with("llm_backbone_id", llmId);
        return this;
    }

    /** Any other field of the model configuration by its reference name, e.g. {@code set("llm_max_length", "4096")}. */
    public MervBuilder set(String field, String value) {
        config = config.with(field, value);
        return this;
    }

    public MervBuilder weights(BackboneWeights w) {
        this.weights = w;
        return this;
    }

    /** Backbone weights under {@code root} ({@code <root>/<id>} or {@code <root>/<org>--<name>}), then the HF cache. */
    public MervBuilder weightsRoot(Path root) {
        this.weights = new BackboneWeights(root, weights.explicit());
        return this;
    }

    /** The dtype the model computes in; frozen weights are held in it. */
    public MervBuilder precision(Precision p) {
        this.precision = p;
        return this;
    }

    /**
     * Build for training: the LLM stays in fp32 (its trainable weights are the masters; with {@link #lora} it is held
     * in the precision's dtype, frozen). Default: inference.
     */
    public MervBuilder forTraining() {
        this.purpose = MervModels.Purpose.TRAINING;
        return this;
    }

    /** Seeds the LLM's resized embedding rows (projectors and fusion are seeded as the reference seeds them). */
    public MervBuilder seed(long s) {
        this.seed = s;
        return this;
    }

    /**
     * LoRA adapters on the LLM, fresh as PEFT initialises them (the model computes what it computed without them);
     * for training, {@code merv.applyStage(stage)} then trains only the adapters in the LLM. Null: none.
     */
    public MervBuilder lora(LoraConfig config) {
        this.lora = config;
        return this;
    }

    /** Run the encoders concurrently on this executor. */
    public MervBuilder encoderExecutor(ExecutorService e) {
        this.encoderExecutor = e;
        return this;
    }

    /**
     * The validated configuration these pieces make. For a custom encoder list, {@code visual_feature_length}
     * is what the projectors produce (known from the catalog's geometry).
     */
    public ModelConfig config() {
        ModelConfig c = config;
        if (encodersSet) {
            List<String> ids = encoders.stream().map(Encoder::id).toList();
            List<Integer> frames = encoders.stream().map(Encoder::frames).toList();
            c = c.with("video_backbone_ids", ids.toString().replace(" ", ""))
                    .with("num_frames", frames.toString().replace(" ", ""));
            Optional<Integer> v = visualLength(c);
            if (v.isPresent()) {
                c = c.with("visual_feature_length", Integer.toString(v.get()));
            }
        }
        ConfigValidator.validateModel(c);
        return c;
    }

    /** The backbone weights with this builder's per-encoder directories added. */
    public BackboneWeights backboneWeights() {
        BackboneWeights w = weights;
        for (Encoder e : encoders) {
            if (e.weights() != null) {
                w = w.with(e.id(), e.weights());
            }
        }
        return w;
    }

    /** Loads every backbone and builds projectors and fusion; all weights live in {@code manager}. */
    public Merv build(NDManager manager) {
        ModelConfig c = config();
        Merv.Options o = new Merv.Options();
        if (encoderExecutor != null) {
            o.encoderExecutor(encoderExecutor);
        }
        return MervModels.build(c, backboneWeights(), precision, purpose, manager, seed, o, lora);
    }

    /** The tokens the first encoder's projector produces, when the catalog knows its geometry. */
    private static Optional<Integer> visualLength(ModelConfig c) {
        ArchSpecifier arch = ArchSpecifier.parse(c.archSpecifier());
        String id = c.videoBackboneIds().get(0);
        return Catalog.findEncoder(id).filter(EncoderEntry::supported).map(EncoderEntry::geometry).map(g -> arch.outputLength(
                g.temporalResolution(c.numFrames().get(0)), g.tokensPerSlot(), c.projectorTokenLength()));
    }
}
