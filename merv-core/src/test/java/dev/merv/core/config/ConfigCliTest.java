package dev.merv.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigCliTest {

    @Test
    void mervBaseIsExactlyAsRegistered() {
        ModelConfig m = ModelRegistry.get("merv-base");
        assertThat(m.videoBackboneIds()).containsExactly("languagebind-video-noclass", "dinov2-video-all-tokens",
                "vivit-google-b-all-no-cls-16frames", "siglip-vit-b16-224px-all-no-cls");
        assertThat(m.numFrames()).containsExactly(16, 16, 32, 16);
        assertThat(m.archSpecifier()).isEqualTo("no-align+3davg+linear");
        assertThat(m.featureFusion()).isEqualTo("cross_attention_avg_lq");
        assertThat(m.projectorTokenLength()).isEqualTo(64);
        assertThat(m.visualFeatureLength()).isEqualTo(1024);
        assertThat(m.llmBackboneId()).isEqualTo("llama2-7b-pure");
        assertThat(m.imageResizeStrategy()).isEqualTo("resize-naive");
        assertThat(m.llmMaxLength()).isEqualTo(2048);
        assertThat(m.alignGlobalBatchSize()).isEqualTo(256);
        assertThat(m.alignPerDeviceBatchSize()).isEqualTo(16);
        assertThat(m.alignLearningRate()).isEqualTo(1e-3);
        assertThat(m.alignWeightDecay()).isEqualTo(0.0);
        assertThat(m.alignTrainStrategy()).isEqualTo("fsdp-shard-grad-op");
        assertThat(m.finetuneGlobalBatchSize()).isEqualTo(128);
        assertThat(m.finetunePerDeviceBatchSize()).isEqualTo(8);
        assertThat(m.finetuneLearningRate()).isEqualTo(2e-5);
        assertThat(m.finetuneWeightDecay()).isEqualTo(0.1);
        assertThat(m.finetuneTrainStrategy()).isEqualTo("fsdp-full-shard");
        assertThat(m.alignMaxSteps()).isNull();
        assertThat(m.finetuneWarmupRatio()).isEqualTo(0.03);
        assertThat(m.enableGradientCheckpointing()).isTrue();
        assertThat(m.enableMixedPrecisionTraining()).isTrue();
        assertThat(m.reduceInFullPrecision()).isFalse();
        assertThat(m.saveCheckpointAfter()).isEqualTo(512);
        assertThat(m.fusionEmbedDim()).isEqualTo(3072);
        ConfigValidator.validateModel(m);
    }

    @Test
    void resumeTakesTrueFalseOrAutoAndRoundTripsThroughConfigJson() {
        assertThat(ConfigCli.parse("--resume", "auto").resume()).isEqualTo(Resume.AUTO);
        assertThat(ConfigCli.parse("--resume", "false").resume()).isEqualTo(Resume.NEVER);
        assertThat(ConfigCli.parse().resume()).isEqualTo(Resume.NEVER);
        for (Resume r : Resume.values()) {
            PretrainConfig c = ConfigCli.parse("--resume", r.flag());
            assertThat(ConfigJson.parse(ConfigJson.dump(c)).resume()).isEqualTo(r);
        }
        // configs written before "auto" existed hold a boolean
        assertThat(ConfigJson.dump(ConfigCli.parse("--resume", "true"))).contains("\"resume\": true");
        assertThatThrownBy(() -> ConfigCli.parse("--resume", "maybe")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("--resume maybe").hasMessageContaining("auto");
        assertThatThrownBy(() -> ConfigCli.parse("--resume", "auto", "--resume_from_checkpoint", "runs/x/checkpoints/y"))
                .hasMessageContaining("--resume and --resume_from_checkpoint both given");
    }

    @Test
    void registryVariants() {
        ModelConfig base = ModelRegistry.get("merv-base");
        ModelConfig full = ModelRegistry.get("merv-full");
        assertThat(full.archSpecifier()).isEqualTo("3davg+linear");
        assertThat(full.alignLearningRate()).isEqualTo(1e-4);
        assertThat(full.alignTrainStrategy()).isEqualTo("fsdp-full-shard");
        assertThat(full.with("model_id", "merv-base").with("type", "merv-base").with("arch_specifier", "no-align+3davg+linear")
                .with("align_learning_rate", "1e-3").with("align_train_strategy", "fsdp-shard-grad-op")).isEqualTo(base);
        assertThat(ModelRegistry.get("vivit-single").numFrames()).containsExactly(32);
        assertThat(ModelRegistry.get("siglip-single").videoBackboneIds()).containsExactly("siglip-vit-b16-224px-all-no-cls");
        assertThat(ModelRegistry.ids()).containsExactly("merv-base", "merv-full", "languagebind-single", "dinov2-single",
                "vivit-single", "siglip-single", "merv-tiny");
        for (String id : ModelRegistry.ids()) {
            ConfigValidator.validateModel(ModelRegistry.get(id));
        }
        ModelConfig tiny = ModelRegistry.get("merv-tiny");
        assertThat(tiny.numFrames()).containsExactly(2, 2, 4, 2);
        assertThat(tiny.visualFeatureLength()).isEqualTo(8);
        assertThat(tiny.fusionEmbedDim()).isEqualTo(32);
    }

    @Test
    void defaultsAndRunId() {
        PretrainConfig c = ConfigCli.parse();
        assertThat(c.model()).isEqualTo(ModelRegistry.get("merv-base"));
        assertThat(c.stage()).isEqualTo(Stage.FINETUNE);
        assertThat(c.seed()).isEqualTo(7);
        assertThat(c.resolvedRunId()).isEqualTo("videollava+merv-base+stage-finetune+x7");
        assertThat(c.saveCheckpointAfter()).isEqualTo(512);
        assertThat(c.trackers()).containsExactly("jsonl", "wandb");
        PretrainConfig a = ConfigCli.parse("--stage", "align", "--seed", "3");
        assertThat(a.resolvedRunId()).isEqualTo("videollava+merv-base+stage-align+x3");
        assertThat(a.train().learningRate()).isEqualTo(1e-3);
        assertThat(a.train().globalBatchSize()).isEqualTo(256);
        assertThat(ConfigCli.parse("--stage", "full-align").train().learningRate()).isEqualTo(1e-3);
        assertThat(ConfigCli.parse("--stage", "second_finetune").train().learningRate()).isEqualTo(2e-5);
    }

    @Test
    void flagForms() {
        PretrainConfig c = ConfigCli.parse("--model.type=merv-base", "--model.num_frames", "[16,", "16,", "32,", "16]",
                "--model.projector_token_length=16", "--model.visual_feature_length", "256",
                "--model.video_backbone_ids", "['languagebind-video-noclass', \"dinov2-video-all-tokens\","
                        + "hiera-base-plus-video,siglip-vit-b16-224px-all-no-cls]",
                "--run-id", "x", "--resume", "--keep_checkpoints", "3", "--devices", "gpu0,gpu1",
                "--model.finetune_max_steps", "100", "--pretrained_checkpoint", "runs/a/checkpoints/latest-checkpoint.pt",
                "--save_checkpoint_after=64", "--token_weighted_loss", "true", "--dataset.dataset_root_dir", "/data");
        assertThat(c.model().numFrames()).containsExactly(16, 16, 32, 16);
        assertThat(c.model().videoBackboneIds()).hasSize(4).contains("hiera-base-plus-video");
        assertThat(c.runId()).isEqualTo("x");
        assertThat(c.resume()).isEqualTo(dev.merv.core.config.Resume.REQUIRED);
        assertThat(c.keepCheckpoints()).isEqualTo(3);
        assertThat(c.devices()).isEqualTo("gpu0,gpu1");
        assertThat(c.train().maxSteps()).isEqualTo(100);
        assertThat(c.pretrainedCheckpoint()).isEqualTo(Path.of("runs/a/checkpoints/latest-checkpoint.pt"));
        assertThat(c.saveCheckpointAfter()).isEqualTo(64);
        assertThat(c.tokenWeightedLoss()).isTrue();
        assertThat(c.dataset().datasetRootDir()).isEqualTo(Path.of("/data"));
        // scalar num_frames broadcast (reference __post_init__), wherever the encoder list is set
        PretrainConfig s = ConfigCli.parse("--model.num_frames", "16", "--model.video_backbone_ids",
                "[languagebind-video-noclass,dinov2-video-all-tokens]", "--model.visual_feature_length", "1024");
        assertThat(s.model().numFrames()).containsExactly(16, 16);
        // order does not matter for --model.type
        assertThat(ConfigCli.parse("--model.llm_backbone_id", "qwen2.5-7b-instruct", "--model.type", "merv-full")
                .model().llmBackboneId()).isEqualTo("qwen2.5-7b-instruct");
        assertThat(ConfigCli.parse("--model.finetune_max_steps", "None").model().finetuneMaxSteps()).isNull();
    }

    @Test
    void usageListsEveryFlag() {
        String u = ConfigCli.usage();
        assertThat(u).contains("--model.num_frames [16, 16, 32, 16]", "--model.visual_feature_length 1024",
                "--stage finetune", "--seed 7", "--save_checkpoint_after 512", "--keep_checkpoints", "--devices auto",
                "--resume false", "--dataset.dataset_root_dir data", "--model.type [merv-base");
    }

    static List<Object[]> invalid() {
        return List.of(
                new Object[] {new String[] {"--model.projector_token_length", "15"}, "model.projector_token_length=15",
                        "perfect square"},
                new Object[] {new String[] {"--model.num_frames", "[16,16,32]"}, "model.num_frames has 3 entries",
                        "model.video_backbone_ids has 4"},
                new Object[] {new String[] {"--model.num_frames", "[16,16,24,16]"}, "multiple of the smallest", "16"},
                new Object[] {new String[] {"--model.visual_feature_length", "256"}, "model.visual_feature_length=256",
                        "vivit-google-b-all-no-cls-16frames=16x64=1024"},
                new Object[] {new String[] {"--model.projector_token_length", "16"}, "model.visual_feature_length=1024",
                        "=16x16=256"},
                new Object[] {new String[] {"--model.video_backbone_ids", "[languagebind-video-noclass,clip-vit-l,"
                        + "vivit-google-b-all-no-cls-16frames,siglip-vit-b16-224px-all-no-cls]"},
                        "unknown encoder id(s) [clip-vit-l]", "supported encoder ids are"},
                new Object[] {new String[] {"--model.video_backbone_ids", "[languagebind-video-noclass,dinov2-video-all-tokens,"
                        + "vivit-google-b-all-no-cls-16frames,siglip-vit-b16-224px-all-tokens]"},
                        "'siglip-vit-b16-224px-all-tokens' is registered by the reference but not supported", "W20"},
                new Object[] {new String[] {"--model.llm_backbone_id", "llama4"}, "model.llm_backbone_id='llama4'", "use one of"},
                new Object[] {new String[] {"--model.type", "merv-huge"}, "model.type='merv-huge'", "merv-base"},
                new Object[] {new String[] {"--model.arch_specifier", "no-align+3davg+mlp"}, "model.arch_specifier", "linear"},
                new Object[] {new String[] {"--model.feature_fusion", "concat_tokens"}, "model.feature_fusion", "scalar"},
                new Object[] {new String[] {"--stage", "pretrain"}, "stage='pretrain'", "finetune"},
                new Object[] {new String[] {"--stage", "full-finetune"}, "full-finetune", "not implemented"},
                new Object[] {new String[] {"--model.finetune_per_device_batch_size", "3"}, "finetune_global_batch_size=128",
                        "per_device_batch_size=3"},
                new Object[] {new String[] {"--model.num_frames", "[16,16,8,16]", "--model.video_backbone_ids",
                        "[languagebind-video-noclass,dinov2-video-all-tokens,hiera-base-plus-video,"
                                + "siglip-vit-b16-224px-all-no-cls]"}, "model.num_frames[2]=8", "multiple of 16"},
                new Object[] {new String[] {"--model.seed", "3"}, "--model.seed", "fields are"},
                // image_resize_strategy: a typo, and strategies the reference cannot run on an encoder of the model
                new Object[] {new String[] {"--model.image_resize_strategy", "resize_crop"},
                        "model.image_resize_strategy='resize_crop' is not a strategy", "resize-crop"},
                new Object[] {new String[] {"--model.image_resize_strategy", "resize-crop"},
                        "'resize-crop' cannot run on encoder languagebind-video-noclass", "resize-naive only"},
                new Object[] {new String[] {"--model.video_backbone_ids", "[hiera-base-plus-video]", "--model.num_frames", "[32]",
                        "--model.image_resize_strategy", "letterbox"},
                        "'letterbox' cannot run on encoder hiera-base-plus-video", "normalisation mean"},
                new Object[] {new String[] {"--seed", "seven"}, "--seed seven", "expected int"},
                new Object[] {new String[] {"stage", "align"}, "unexpected argument 'stage'", "--stage=finetune"});
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @MethodSource("invalid")
    void invalidConfigsFailBeforeLoadingNamingTheFieldAndTheFix(String[] args, String field, String fix) {
        assertThatThrownBy(() -> ConfigCli.parse(args)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(field).hasMessageContaining(fix);
    }

    /** The reference runs resize-crop and letterbox on the PIL-based encoders, so these configs validate. */
    @Test
    void resizeStrategiesTheReferenceRunsAreAccepted() {
        for (String strategy : new String[] {"resize-naive", "resize-crop", "letterbox"}) {
            ConfigValidator.validateModel(ModelRegistry.get("siglip-single").with("image_resize_strategy", strategy));
            ConfigValidator.validateModel(ModelRegistry.get("dinov2-single").with("image_resize_strategy", strategy));
        }
        ConfigValidator.validateModel(ModelRegistry.get("merv-base").with("video_backbone_ids", "[hiera-base-plus-video]")
                .with("num_frames", "[32]").with("image_resize_strategy", "resize-crop"));
    }

    @Test
    void jsonRoundTrip(@TempDir Path dir) throws Exception {
        for (String id : ModelRegistry.ids()) {
            PretrainConfig c = ConfigCli.parse("--model.type", id, "--run_id", "r-" + id);
            String json = ConfigJson.dump(c);
            PretrainConfig back = ConfigJson.parse(json);
            assertThat(back).isEqualTo(c);
            assertThat(ConfigJson.dump(back)).isEqualTo(json);
            assertThat(ConfigJson.parseModel(ConfigJson.dump(c.model()))).isEqualTo(c.model());
        }
        PretrainConfig c = ConfigCli.parse("--stage", "align", "--model.align_max_steps", "7",
                "--resume_from_checkpoint", "runs/x/checkpoints/step-000007-epoch-00-loss=1.0000.pt", "--wandb_entity", "me");
        Path f = dir.resolve("run/config.json");
        ConfigJson.write(c, f);
        assertThat(Files.readString(f)).contains("\"align_max_steps\": 7", "\"type\": \"merv-base\"", "\"stage\": \"align\"");
        assertThat(ConfigJson.read(f)).isEqualTo(c);
        // a dumped config is a valid starting point for more overrides
        PretrainConfig more = ConfigCli.parse("--config", f.toString(), "--seed", "9");
        assertThat(more.seed()).isEqualTo(9);
        assertThat(more.model()).isEqualTo(c.model());
        assertThatThrownBy(() -> ConfigJson.parse(ConfigJson.dump(c).replace("\"seed\"", "\"sead\"")))
                .isInstanceOf(ConfigException.class).hasMessageContaining("sead");
    }
}
