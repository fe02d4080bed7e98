package dev.merv.core.config;

import java.util.Arrays;
import java.util.List;

/**
 * Training stages (docs/reference.md §1.4): which top-level modules train and which hyper-parameter
 * family the run copies ({@code align}-suffixed stages take {@code align_*}, {@code finetune}-suffixed
 * ones {@code finetune_*}). Encoders are always frozen. The one stage type of merv: the config, the data
 * path, the model's freezing ({@code Merv.applyStage}, the only place that sets what trains) and the
 * trainer all use it.
 */
public enum Stage {
    /** Projectors + fusion train; encoders and LLM frozen. */
    ALIGN("align", List.of("projectors", "feature_fusion")),
    /** Projectors + fusion + LLM train on align data. */
    FULL_ALIGN("full-align", List.of("projectors", "llm_backbone", "feature_fusion")),
    /** Projectors + fusion + LLM train on instruction data. */
    FINETUNE("finetune", List.of("projectors", "llm_backbone", "feature_fusion")),
    /**
     * Like finetune, after loading projectors, LLM and fusion from {@code --pretrained_checkpoint}. The
     * reference crashes building its dataset (W10); merv uses the finetune data.
     */
    SECOND_FINETUNE("second_finetune", List.of("projectors", "llm_backbone", "feature_fusion")),
    /** Accepted by the reference parser, raises "not implemented" when freezing; merv rejects it in validation. */
    FULL_FINETUNE("full-finetune", List.of());

    private final String flag;
    private final List<String> trainable;

    Stage(String flag, List<String> trainable) {
        this.flag = flag;
        this.trainable = trainable;
    }

    /** The reference spelling ({@code --stage full-align}). */
    public String flag() {
        return flag;
    }

    public boolean isAlign() {
        return flag.endsWith("align");
    }

    public boolean isFinetune() {
        return flag.endsWith("finetune");
    }

    /** Whether the LLM trains in this stage. */
    public boolean trainsLlm() {
        return this != ALIGN;
    }

    /** The reference's stage name (same as {@link #flag()}). */
    public String id() {
        return flag;
    }

    /** Top-level MERV module names (state-dict prefixes) that train in this stage. */
    public List<String> trainableModules() {
        requireImplemented();
        return trainable;
    }

    /** {@code align} or {@code finetune}: which family of hyper-parameters the stage copies into the run. */
    public String hyperParameterFamily() {
        return isAlign() ? "align" : "finetune";
    }

    /** Whether the stage's data uses the split-modality sampler (stage name contains "finetune"). */
    public boolean usesSplitModalitySampler() {
        return flag.contains("finetune");
    }

    /** Metric prefix as the reference writes it: the stage name with its first letter capitalised. */
    public String metricPrefix() {
        return Character.toUpperCase(flag.charAt(0)) + flag.substring(1);
    }

    /** Whether the parameter called {@code name} trains in this stage. */
    public boolean trains(String name) {
        for (String m : trainableModules()) {
            if (name.equals(m) || name.startsWith(m + ".")) {
                return true;
            }
        }
        return false;
    }

    private void requireImplemented() {
        if (this == FULL_FINETUNE) {
            throw new UnsupportedOperationException("--stage full-finetune is not implemented (as in the reference)");
        }
    }

    public static Stage parse(String s) {
        for (Stage st : values()) {
            if (st.flag.equals(s.trim())) {
                return st;
            }
        }
        throw new ConfigException("stage='" + s + "' is not a stage; use one of "
                + Arrays.stream(values()).filter(v -> v != FULL_FINETUNE).map(Stage::flag).toList());
    }

    @Override
    public String toString() {
        return flag;
    }
}
