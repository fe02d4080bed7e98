package dev.merv.core.catalog;

/** Which layer an encoder's MERV features come from and which of its tokens are kept. */
public enum TokenPolicy {
    /** LanguageBind: {@code hidden_states[-2]} (the second-to-last layer's output, no post-LN), CLS dropped. */
    PENULTIMATE_LAYER_NO_CLS("hidden_states[-2] (second-to-last layer, no post-LN), CLS dropped"),
    /** timm ViTs (DINOv2, SigLIP): the output of block {@code depth - 2}, no final norm, prefix tokens (CLS, registers) dropped. */
    PENULTIMATE_BLOCK_PATCHES("block depth-2 output (no final norm), CLS and register tokens dropped"),
    /** ViViT: {@code last_hidden_state} (after the final LayerNorm), CLS dropped, every temporal slot. */
    LAST_HIDDEN_NO_CLS_ALL_SLOTS("last_hidden_state (after the final LN), CLS dropped, every temporal slot"),
    /** ViViT: as {@link #LAST_HIDDEN_NO_CLS_ALL_SLOTS} but only slots 0, 2, 4, ... */
    LAST_HIDDEN_NO_CLS_EVERY_SECOND_SLOT("last_hidden_state (after the final LN), CLS dropped, every second temporal slot"),
    /** Hiera: the last stage-end intermediate (before the final norm and pooling), consecutive clips concatenated. */
    LAST_STAGE_END("last stage-end intermediate (before norm and pooling), consecutive clips concatenated");

    private final String description;

    TokenPolicy(String description) {
        this.description = description;
    }

    /** The policy in words (docs, logs). */
    public String description() {
        return description;
    }
}
