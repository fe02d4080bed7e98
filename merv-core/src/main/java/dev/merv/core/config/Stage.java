package dev.merv.core.config;

import java.util.Arrays;

/**
 * Training stages (merv-reference.md §1.4). {@code align}-suffixed stages take the {@code align_*}
 * hyper-parameters, {@code finetune}-suffixed ones the {@code finetune_*} ones.
 */
public enum Stage {
    /** Projectors + fusion train; encoders and LLM frozen. */
    ALIGN("align"),
    /** Projectors + fusion + LLM train on align data. */
    FULL_ALIGN("full-align"),
    /** Projectors + fusion + LLM train on instruction data. */
    FINETUNE("finetune"),
    /**
     * Like finetune, after loading projectors, LLM and fusion from {@code --pretrained_checkpoint}. The
     * reference crashes building its dataset (W10); merv uses the finetune data.
     */
    SECOND_FINETUNE("second_finetune"),
    /** Accepted by the reference parser, raises "not implemented" when freezing; merv rejects it in validation. */
    FULL_FINETUNE("full-finetune");

    private final String flag;

    Stage(String flag) {
        this.flag = flag;
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

    public static Stage parse(String s) {
        for (Stage st : values()) {
            if (st.flag.equals(s)) {
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
