package dev.merv.llm.generate;

/**
 * Called once per decoding step with each row's new token. {@code finished[row]} is true when the row had
 * stopped before this step (its token is then the pad id).
 */
@FunctionalInterface
public interface TokenListener {
    void onStep(int step, long[] tokens, boolean[] finished);
}
