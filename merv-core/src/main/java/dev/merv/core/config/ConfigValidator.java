package dev.merv.core.config;

import dev.merv.core.catalog.Catalog;
import dev.merv.core.catalog.EncoderEntry;
import dev.merv.core.catalog.EncoderGeometry;
import dev.merv.core.catalog.ResizeStrategy;
import dev.merv.core.fusion.FusionType;
import dev.merv.core.projector.ArchSpecifier;
import dev.merv.core.projector.TokenGrid;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks a configuration before anything is built or loaded, collecting every problem with the field
 * names and the fix (the reference asserts some of these only after minutes of weight loading).
 */
public final class ConfigValidator {

    private static final Set<String> SCHEDULES = Set.of("linear-warmup+cosine-decay");
    private static final Set<String> STRATEGIES = Set.of("fsdp-shard-grad-op", "fsdp-full-shard");

    private ConfigValidator() {}

    /** Fails with a {@link ConfigException} listing every problem of {@code config}. */
    public static void validate(PretrainConfig config) {
        List<String> problems = new ArrayList<>(modelProblems(config.model()));
        if (config.stage() == Stage.FULL_FINETUNE) {
            problems.add("stage='full-finetune' is accepted by the reference parser but not implemented (it raises when"
                    + " freezing); use --stage finetune (LLM + projectors + fusion train, encoders frozen)");
        } else {
            StageHyperparameters t = config.train();
            String p = "model." + (t.stage().isAlign() ? "align" : "finetune");
            if (t.perDeviceBatchSize() <= 0 || t.globalBatchSize() % t.perDeviceBatchSize() != 0) {
                problems.add(p + "_global_batch_size=" + t.globalBatchSize() + " must be a positive multiple of "
                        + p + "_per_device_batch_size=" + t.perDeviceBatchSize());
            }
            if (!SCHEDULES.contains(t.lrSchedulerType())) {
                problems.add(p + "_lr_scheduler_type='" + t.lrSchedulerType() + "' is not supported; use " + SCHEDULES);
            }
            if (!STRATEGIES.contains(t.trainStrategy())) {
                problems.add(p + "_train_strategy='" + t.trainStrategy() + "' is not a strategy; use one of " + STRATEGIES);
            }
            if (t.warmupRatio() < 0 || t.warmupRatio() > 1) {
                problems.add(p + "_warmup_ratio=" + t.warmupRatio() + " must be in [0, 1]");
            }
            if (t.maxSteps() != null && t.maxSteps() <= 0) {
                problems.add(p + "_max_steps=" + t.maxSteps() + " must be positive (or None for epochs)");
            }
        }
        if (config.saveCheckpointAfter() <= 0) {
            problems.add("save_checkpoint_after=" + config.saveCheckpointAfter() + " must be positive");
        }
        if (config.keepCheckpoints() < 0) {
            problems.add("keep_checkpoints=" + config.keepCheckpoints() + " must be >= 0 (0 keeps all)");
        }
        if (config.resume().enabled() && config.resumeFromCheckpoint() != null) {
            problems.add("--resume and --resume_from_checkpoint both given; use one (--resume picks the run directory's"
                    + " newest intact checkpoint)");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    /** Fails with a {@link ConfigException} listing every problem of the model config alone. */
    public static void validateModel(ModelConfig model) {
        validateModel(model, true);
    }

    /**
     * As {@link #validateModel(ModelConfig)}; with {@code catalogGeometry} off, the encoders' output geometry
     * is not taken from the {@link Catalog} (the built encoders are checked instead, e.g. tiny test
     * encoders that carry a reference id). Unknown and unsupported ids are refused either way.
     */
    public static void validateModel(ModelConfig model, boolean catalogGeometry) {
        List<String> problems = modelProblems(model, catalogGeometry);
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    static List<String> modelProblems(ModelConfig m) {
        return modelProblems(m, true);
    }

    static List<String> modelProblems(ModelConfig m, boolean catalogGeometry) {
        List<String> problems = new ArrayList<>();
        List<String> ids = m.videoBackboneIds();
        if (ids.isEmpty()) {
            problems.add("model.video_backbone_ids is empty; give at least one encoder, e.g. [" + Catalog.SIGLIP + "]");
        }
        Set<String> unknown = new LinkedHashSet<>();
        boolean encodersOk = true;
        for (String id : ids) {
            var entry = Catalog.findEncoder(id);
            if (entry.isEmpty()) {
                unknown.add(id);
            } else if (!entry.get().supported()) {
                problems.add("model.video_backbone_ids: '" + id + "' is registered by the reference but not supported: "
                        + entry.get().unsupported() + "; supported encoder ids are " + Catalog.supportedEncoderIds());
                encodersOk = false;
            }
        }
        if (!unknown.isEmpty()) {
            problems.add("model.video_backbone_ids: unknown encoder id(s) " + unknown + "; supported encoder ids are "
                    + Catalog.supportedEncoderIds());
            encodersOk = false;
        }
        if (Catalog.findLlm(m.llmBackboneId()).isEmpty()) {
            problems.add("model.llm_backbone_id='" + m.llmBackboneId() + "' is not a known LLM; use one of " + Catalog.llmIds());
        }
        List<Integer> frames = m.numFrames();
        boolean framesOk = true;
        if (frames.size() != ids.size()) {
            problems.add("model.num_frames has " + frames.size() + " entries " + frames + " but model.video_backbone_ids has "
                    + ids.size() + "; give one frame count per encoder (or a single number for all)");
            framesOk = false;
        }
        if (frames.stream().anyMatch(f -> f == null || f <= 0)) {
            problems.add("model.num_frames " + frames + " must all be positive");
            framesOk = false;
        } else if (!frames.isEmpty()) {
            int min = frames.stream().mapToInt(Integer::intValue).min().getAsInt();
            if (frames.stream().anyMatch(f -> f % min != 0)) {
                problems.add("model.num_frames " + frames + ": every entry must be a multiple of the smallest (" + min
                        + "), because encoders take every (max/n)-th decoded frame");
                framesOk = false;
            }
        }
        ArchSpecifier arch = null;
        try {
            arch = ArchSpecifier.parse(m.archSpecifier());
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        boolean tokensOk = true;
        if (arch != null && arch.resamples() && arch.resampler() != ArchSpecifier.ResamplerType.ATTNTV) {
            try {
                ArchSpecifier.outputSize(m.projectorTokenLength());
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
                tokensOk = false;
            }
        } else if (m.projectorTokenLength() <= 0) {
            problems.add("model.projector_token_length=" + m.projectorTokenLength() + " must be positive");
            tokensOk = false;
        }
        try {
            FusionType.parse(m.featureFusion());
        } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
        }
        if (m.llmMaxLength() <= 0) {
            problems.add("model.llm_max_length=" + m.llmMaxLength() + " must be positive");
        }
        if (m.fusionEmbedDim() <= 0) {
            problems.add("model.fusion_embed_dim=" + m.fusionEmbedDim() + " must be positive");
        }
        problems.addAll(resizeProblems(m));
        if (catalogGeometry && arch != null && framesOk && tokensOk && encodersOk && !ids.isEmpty()) {
            problems.addAll(visualLengthProblems(m, arch));
        }
        return problems;
    }

    /**
     * {@code image_resize_strategy}: one of the reference's three, and one every encoder's transform can run as the
     * reference does (LanguageBind asserts resize-naive; Hiera cannot letterbox), so no option is accepted and then
     * ignored.
     */
    private static List<String> resizeProblems(ModelConfig m) {
        ResizeStrategy strategy;
        try {
            strategy = ResizeStrategy.parse(m.imageResizeStrategy());
        } catch (IllegalArgumentException e) {
            return List.of(e.getMessage());
        }
        List<String> problems = new ArrayList<>();
        for (String id : m.videoBackboneIds()) {
            Catalog.findEncoder(id).filter(EncoderEntry::supported).ifPresent(e -> {
                String why = e.transform().unsupported(strategy);
                if (why != null) {
                    problems.add("model.image_resize_strategy='" + strategy.text() + "' cannot run on encoder " + id + ": "
                            + why + "; use resize-naive");
                }
            });
        }
        return problems;
    }

    /** The reference's construction assert (docs/reference.md §3.4) and the per-encoder frame constraints, from known geometry. */
    private static List<String> visualLengthProblems(ModelConfig m, ArchSpecifier arch) {
        List<String> problems = new ArrayList<>();
        List<String> lengths = new ArrayList<>();
        boolean mismatch = false;
        for (int i = 0; i < m.numEncoders(); i++) {
            EncoderEntry entry = Catalog.supportedEncoder(m.videoBackboneIds().get(i));
            String id = entry.id();
            EncoderGeometry geometry = entry.geometry();
            int frames = m.numFrames().get(i);
            if (frames % geometry.frameMultiple() != 0) {
                problems.add("model.num_frames[" + i + "]=" + frames + ": encoder " + id + " needs a multiple of "
                        + geometry.frameMultiple() + " frames");
                continue;
            }
            int t = geometry.temporalResolution(frames);
            String grid = TokenGrid.problem(geometry.tokensPerSlot());
            if (arch.resamples() && arch.resampler() != ArchSpecifier.ResamplerType.ATTNTV && grid != null) {
                problems.add("encoder " + id + ": the '" + arch.resampler().element() + "' resampler cannot pool it: " + grid);
                continue;
            }
            int outFrames = arch.outputFrames(t);
            if (outFrames < 1) {
                problems.add("model.arch_specifier='" + arch.text() + "': frame factor " + arch.frameFactor() + " leaves "
                        + "no frames for encoder " + id + " (" + t + " temporal slots)");
                continue;
            }
            int len = arch.outputLength(t, geometry.tokensPerSlot(), m.projectorTokenLength());
            lengths.add(id + "=" + outFrames + "x" + arch.tokensPerFrame(m.projectorTokenLength(),
                    geometry.tokensPerSlot()) + "=" + len);
            if (m.numEncoders() > 1 && len != 1 && len != m.visualFeatureLength()) {
                mismatch = true;
            }
        }
        if (mismatch) {
            problems.add("model.visual_feature_length=" + m.visualFeatureLength() + " but the projectors produce "
                    + lengths + " tokens (output frames x tokens per frame); set --model.visual_feature_length to the"
                    + " common value, or change model.projector_token_length / model.num_frames / the frameN factor so"
                    + " that every encoder gives the same count");
        }
        return problems;
    }
}
