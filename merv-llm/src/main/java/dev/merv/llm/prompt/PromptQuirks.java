package dev.merv.llm.prompt;

/**
 * Switches for the reference prompt builders' known defects. {@link #PARITY} (the default) reproduces them,
 * so that released checkpoints see the text they were trained on.
 *
 * @param fixSysTag W20: write LLaMa-2 chat's system tag as {@code <<SYS>>} instead of the reference's
 *     {@code <<SYS>}
 * @param singleBos W22: drop the literal {@code <s>} the LLaMa-2 chat builder puts before the first human
 *     turn, which (tokenised with special tokens) gives two BOS ids in training
 * @param stripVideoTag W3: remove {@code <video>} like {@code <image>} in the Pure / Vicuna / LLaMa-2 builders
 */
public record PromptQuirks(boolean fixSysTag, boolean singleBos, boolean stripVideoTag) {

    public static final PromptQuirks PARITY = new PromptQuirks(false, false, false);

    public static final PromptQuirks FIXED = new PromptQuirks(true, true, true);
}
