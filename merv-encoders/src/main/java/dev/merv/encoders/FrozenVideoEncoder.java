package dev.merv.encoders;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.WeightSource;
import dev.merv.encoders.layers.Scoped;
import java.util.Arrays;

/**
 * The MERV backbone wrapper shared by every family: checks the input layout, runs the family's
 * {@link #features} without autograd in the encoder's dtype, and reshapes to {@code [B, T', N, C]}.
 *
 * <p>{@link #features} is the same computation with whatever grad mode the caller has; the fixture
 * tests use it with autograd on to check gradients (frozen encoders never need them in training).
 * Frame counts an encoder cannot take are rejected by the subclass constructors, before weights load.
 */
public abstract class FrozenVideoEncoder implements VideoEncoder {

    private final String id;
    private final int numFrames;
    private final int imageHeight;
    private final int imageWidth;
    private final FrameTransform transform;

    /**
     * @param imageHeight input height the encoder is built for
     * @param imageWidth input width the encoder is built for
     * @param transform the frame transform; when given, its output size must be the input size
     */
    protected FrozenVideoEncoder(String id, int numFrames, int imageHeight, int imageWidth, FrameTransform transform) {
        if (numFrames <= 0) {
            throw new IllegalArgumentException(id + ": frame count must be positive, got " + numFrames);
        }
        if (transform != null && (transform.height() != imageHeight || transform.width() != imageWidth)) {
            throw new IllegalArgumentException(id + ": the encoder takes " + imageHeight + "x" + imageWidth
                    + " (height x width) frames but its transform " + transform + " makes " + transform.height() + "x"
                    + transform.width());
        }
        this.id = id;
        this.numFrames = numFrames;
        this.imageHeight = imageHeight;
        this.imageWidth = imageWidth;
        this.transform = transform;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public int numFrames() {
        return numFrames;
    }

    /** The input height the encoder is built for. */
    public int imageHeight() {
        return imageHeight;
    }

    /** The input width the encoder is built for. */
    public int imageWidth() {
        return imageWidth;
    }

    @Override
    public FrameTransform transform() {
        return transform;
    }

    /** Input layout of {@link #encode} / {@link #features} (after the batch axis). */
    public FrameTransform.Layout layout() {
        return transform == null ? FrameTransform.Layout.TCHW : transform.layout();
    }

    /**
     * The dtype the weights are held in, read from the weights themselves: whoever casts them (this
     * class's {@link #castTo}, or a trainer holding frozen weights in bf16) also changes what
     * {@link #encode} casts its input to. fp32 before any weight is set.
     */
    public ScalarType dtype() {
        for (Param p : module().namedParameters().values()) {
            if (p.isSet() && p.dtype().isFloating()) {
                return p.dtype();
            }
        }
        return ScalarType.FLOAT32;
    }

    /** Casts the weights (e.g. to bf16 for frozen use); inputs are cast to match in {@link #encode}. */
    public void castTo(ScalarType type, NDManager manager) {
        module().castTo(type, manager);
        module().setTrainable(false);
    }

    @Override
    public final NDArray encode(NDArray pixels) {
        checkInput(pixels);
        try (Torch.GradMode ng = Torch.noGrad()) {
            ScalarType dtype = dtype();
            NDArray in = Torch.dtype(pixels) == dtype ? pixels : Torch.to(pixels, dtype);
            // every intermediate (views, embeddings) dies with the scope; only the result is kept
            NDArray f = Scoped.apply(in, this::features);
            long b = pixels.getShape().get(0);
            NDArray out = f.reshape(b, temporalResolution(), spatialResolution(), embedDim());
            if (out != f) {
                f.close();
            }
            if (in != pixels) {
                in.close();
            }
            return out;
        }
    }

    /**
     * Loads the family's checkpoint names found under {@code prefix} (the family's one weight table;
     * names MERV never runs are skipped by name), strict otherwise: a missing or mis-shaped tensor
     * fails naming it.
     */
    public abstract void loadWeights(WeightSource source, String prefix, NDManager manager, ScalarType dtype);

    /** MERV features {@code [B, T'*N, C]} (temporal-slot-major), differentiable when grad mode is on. */
    public abstract NDArray features(NDArray pixels);

    /** Fails naming the encoder when {@code pixels} is not {@code [B, T, 3, H, W]} / {@code [B, 3, T, H, W]}. */
    protected void checkInput(NDArray pixels) {
        long[] s = pixels.getShape().getShape();
        boolean tchw = layout() == FrameTransform.Layout.TCHW;
        long[] want = tchw ? new long[] {-1, numFrames, 3, imageHeight, imageWidth}
                : new long[] {-1, 3, numFrames, imageHeight, imageWidth};
        boolean ok = s.length == 5;
        for (int i = 1; ok && i < 5; i++) {
            ok = s[i] == want[i];
        }
        if (!ok) {
            throw new IllegalArgumentException(id + ": expects input [B, " + (tchw ? "T=" + numFrames + ", 3" : "3, T=" + numFrames)
                    + ", H=" + imageHeight + ", W=" + imageWidth + "], got " + Arrays.toString(s));
        }
    }

    @Override
    public String toString() {
        return id + " (" + numFrames + " frames, " + imageHeight + "x" + imageWidth + " px -> [" + temporalResolution() + ", "
                + spatialResolution() + ", " + embedDim() + "], " + dtype() + ")";
    }
}
