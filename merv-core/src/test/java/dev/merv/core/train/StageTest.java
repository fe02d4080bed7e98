package dev.merv.core.train;

import dev.merv.core.config.Stage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.nn.Param;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stages, their freezing, the align-run discovery rule of docs/reference.md §1.4, devices and batch arithmetic. */
class StageTest {

    @TempDir
    Path root;

    @Test
    void freezingFollowsTheStage() {
        Map<String, Param> params = new LinkedHashMap<>();
        for (String n : List.of("video_backbones.0.featurizer.blocks.0.attn.qkv.weight", "projectors.0.projector.projector.weight",
                "feature_fusion.Q", "llm_backbone.llm.model.embed_tokens.weight")) {
            params.put(n, new Param(n, 2, 2));
        }
        assertThat(params.keySet().stream().filter(Stage.ALIGN::trains))
                .containsExactly("projectors.0.projector.projector.weight", "feature_fusion.Q");
        assertThat(Stage.FINETUNE.trains("llm_backbone.llm.model.embed_tokens.weight")).isTrue();
        assertThat(Stage.FINETUNE.trains("video_backbones.0.featurizer.blocks.0.attn.qkv.weight")).isFalse();
        assertThat(Stage.FULL_ALIGN.trains("llm_backbone.llm.lm_head.weight")).isTrue();
        assertThat(Stage.FULL_ALIGN.hyperParameterFamily()).isEqualTo("align");
        assertThat(Stage.SECOND_FINETUNE.hyperParameterFamily()).isEqualTo("finetune");
        assertThat(Stage.parse("full-align")).isEqualTo(Stage.FULL_ALIGN);
        assertThat(Stage.FULL_ALIGN.metricPrefix()).isEqualTo("Full-align");
        assertThatThrownBy(() -> Stage.FULL_FINETUNE.trains("feature_fusion.Q")).hasMessageContaining("not implemented");
        assertThatThrownBy(() -> Stage.parse("pretrain")).hasMessageContaining("stage='pretrain' is not a stage");
    }

    @Test
    void findsTheAlignRunOfTheSameDatasetModelAndSeed() throws Exception {
        Files.createDirectories(root.resolve("videollava+merv-base+stage-align+x7"));
        Files.createDirectories(root.resolve("videollava+merv-base+stage-align+x8"));
        Files.createDirectories(root.resolve("videollava+merv-base+stage-full-align+x7"));
        Path run = root.resolve("videollava+merv-base+stage-finetune+x7");
        Files.createDirectories(run);
        assertThat(AlignRun.findCheckpoint(run)).isEqualTo(
                root.resolve("videollava+merv-base+stage-align+x7").resolve("checkpoints").resolve("latest-checkpoint.pt"));
        assertThatThrownBy(() -> AlignRun.findCheckpoint(root.resolve("videollava+merv-base+stage-finetune+x9")))
                .hasMessageContaining("found 0");
        assertThatThrownBy(() -> AlignRun.findCheckpoint(root.resolve("my-custom-run")))
                .hasMessageContaining("exactly four '+'-separated parts");
        Files.createDirectories(root.resolve("videollava+merv-base-v2+stage-align+x7"));
        assertThatThrownBy(() -> AlignRun.findCheckpoint(run)).hasMessageContaining("found 2");
    }

    @Test
    void batchArithmetic() {
        BatchPlan p = BatchPlan.of(128, 8, 8);
        assertThat(p.accumulation()).isEqualTo(2);
        assertThat(p.perReplica()).isEqualTo(16);
        assertThatThrownBy(() -> BatchPlan.of(128, 16, 3)).hasMessageContaining("W19");
    }

    @Test
    void scheduleSemantics() {
        LrSchedule s = LrSchedule.warmupCosine(1.0, 100, 0.03, LrSchedule.FirstStep.ZERO_LR);
        assertThat(s.warmupSteps()).isEqualTo(3);
        assertThat(s.lr(0)).isZero();
        assertThat(s.lr(1)).isCloseTo(1.0 / 3, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(s.lr(3)).isEqualTo(1.0);
        assertThat(s.lr(100)).isCloseTo(0.0, org.assertj.core.data.Offset.offset(1e-12));
        LrSchedule noWarmup = LrSchedule.warmupCosine(1.0, 10, 0.0, LrSchedule.FirstStep.ZERO_LR);
        assertThat(noWarmup.lr(0)).isZero();
        LrSchedule shifted = LrSchedule.warmupCosine(1.0, 10, 0.0, LrSchedule.FirstStep.SHIFTED);
        assertThat(shifted.lr(0)).isGreaterThan(0.9);
    }
}
