package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Module;

/**
 * One encoder's projector: encoder features {@code [B, T, S, C]} (T temporal slots, S spatial tokens, read
 * by the token resamplers as the {@link TokenGrid} the reference reads) to {@code [B, L, D]} visual tokens in
 * the LLM width, L = {@link #outputLength()}.
 * Parameter names are the reference's ({@code projectors.<i>.} + {@link #namedParameters()}).
 */
public abstract class Projector extends Module {

    protected final int inDim;
    protected final int temporalIn;
    protected final int spatialIn;

    protected Projector(int inDim, int temporalIn, int spatialIn) {
        this.inDim = inDim;
        this.temporalIn = temporalIn;
        this.spatialIn = spatialIn;
    }

    /** {@code [B, T, S, C]} to {@code [B, L, D]}. */
    public abstract NDArray forward(NDArray features);

    /** The projection head (for {@code cross_attention_classKV}, which projects class embeddings with it). */
    public abstract ProjectionHead head();

    /** Output frames of the resampler. */
    public abstract int outputFrames();

    /** Output tokens per frame. */
    public abstract int tokensPerFrame();

    /** Consumes the reference's random draws for this projector, in its construction order. */
    public abstract void initialize(ReferenceInit init, NDManager manager);

    /**
     * Whether the token resampler has no parameters ({@code avg}, {@code 3davg}): its output is then as
     * frozen as the encoder's, and {@code forward(x) == forwardResampled(resampleFrozen(x))}.
     */
    public boolean hasFrozenResampler() {
        return false;
    }

    /** The parameter-free resampler alone: {@code [B, T, S, C]} to {@code [B, L, C]} (encoder width). */
    public NDArray resampleFrozen(NDArray features) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no parameter-free resampler");
    }

    /** The rest of {@link #forward} after {@link #resampleFrozen}: {@code [B, L, C]} to {@code [B, L, D]}. */
    public NDArray forwardResampled(NDArray tokens) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no parameter-free resampler");
    }

    public final int outputLength() {
        return outputFrames() * tokensPerFrame();
    }

    public int outDim() {
        return head().outDim();
    }

    public int inDim() {
        return inDim;
    }

    /** Fails naming the expected layout when {@code x} is not {@code [B, T, S, C]} for this projector. */
    protected void checkInput(NDArray x) {
        long[] s = x.getShape().getShape();
        if (s.length != 4 || s[1] != temporalIn || s[2] != spatialIn || s[3] != inDim) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " expects features [B, " + temporalIn + ", "
                    + spatialIn + ", " + inDim + "] (batch, temporal slots, spatial tokens, encoder dim), got " + x.getShape());
        }
    }

    static TokenGrid grid(int spatial) {
        return TokenGrid.of(spatial);
    }
}
