package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.Op;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.torch.Transfers;

/**
 * Rotary position embeddings in Hugging Face's {@code rotate_half} convention (pairs {@code (i, i + d/2)},
 * {@code cos = cat(freqs, freqs)}), as Llama and Qwen2 use them.
 *
 * <p>The inverse frequencies are computed in fp32 exactly as {@code transformers} 4.44 does
 * ({@code 1 / theta^(arange(0, d, 2) / d)}), optionally rescaled by the {@code llama3} rule
 * ({@code modeling_rope_utils._compute_llama3_parameters}): wavelengths shorter than
 * {@code original / high_freq_factor} keep their frequency, longer than {@code original / low_freq_factor}
 * are divided by {@code factor}, and the band in between is interpolated smoothly.
 */
public final class RotaryEmbedding {

    private static final Op SLICE = Op.of("aten::slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None,"
            + " SymInt? end=None, SymInt step=1) -> Tensor(a)");
    private static final Op NEG = Op.of("aten::neg(Tensor self) -> Tensor");

    private final int headDim;
    private final float[] invFreq;

    private RotaryEmbedding(int headDim, float[] invFreq) {
        this.headDim = headDim;
        this.invFreq = invFreq;
    }

    /** Unscaled rotary embedding ({@code rope_type} "default"). */
    public static RotaryEmbedding standard(int headDim, double theta) {
        return new RotaryEmbedding(headDim, baseInvFreq(headDim, theta));
    }

    /**
     * The Llama 3.1 {@code rope_type: "llama3"} rule. Computed per frequency in fp32 as the reference loop
     * does, so the three regimes land on the same side of each threshold.
     */
    public static RotaryEmbedding llama3(int headDim, double theta, double factor, double lowFreqFactor,
            double highFreqFactor, int originalMaxPositions) {
        if (highFreqFactor <= lowFreqFactor) {
            throw new IllegalArgumentException("rope_scaling: high_freq_factor (" + highFreqFactor
                    + ") must exceed low_freq_factor (" + lowFreqFactor + ")");
        }
        float[] base = baseInvFreq(headDim, theta);
        float[] out = new float[base.length];
        float lowWavelen = (float) (originalMaxPositions / lowFreqFactor);
        float highWavelen = (float) (originalMaxPositions / highFreqFactor);
        for (int i = 0; i < base.length; i++) {
            float freq = base[i];
            float wavelen = (float) (2 * Math.PI) / freq;
            if (wavelen < highWavelen) {
                out[i] = freq;
            } else if (wavelen > lowWavelen) {
                out[i] = (float) (freq / factor);
            } else {
                float smooth = (float) ((originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor));
                out[i] = (1 - smooth) * (float) (freq / factor) + smooth * freq;
            }
        }
        return new RotaryEmbedding(headDim, out);
    }

    private static float[] baseInvFreq(int headDim, double theta) {
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("rotary head_dim must be even, got " + headDim);
        }
        float[] f = new float[headDim / 2];
        for (int i = 0; i < f.length; i++) {
            float exponent = (float) (2 * i) / (float) headDim;
            f[i] = 1.0f / (float) Math.pow(theta, exponent);
        }
        return f;
    }

    public int headDim() {
        return headDim;
    }

    /** The (possibly rescaled) inverse frequencies, {@code head_dim / 2} of them. */
    public float[] invFreq() {
        return invFreq.clone();
    }

    /**
     * {@code cos} and {@code sin} tables {@code [B, T, head_dim]} for int64 {@code positions [B, T]}, computed
     * in fp32 and then cast to {@code dtype} (as HF casts them to the activations' dtype). Owned by
     * {@code manager}. Uploads the inverse frequencies for this call; a model keeps them on its device with
     * {@link #invFreqOn} and calls {@link #cosSin(NDArray, NDArray, ScalarType, NDManager)}.
     */
    public NDArray[] cosSin(NDArray positions, ScalarType dtype, NDManager manager) {
        try (NDManager tmp = manager.newSubManager()) {
            return cosSin(positions, invFreqOn(tmp), dtype, manager);
        }
    }

    /** The inverse frequencies as an fp32 {@code [1, 1, head_dim / 2]} tensor on {@code manager}'s device. */
    public NDArray invFreqOn(NDManager manager) {
        return Transfers.upload(invFreq, new Shape(1, 1, invFreq.length), ScalarType.FLOAT32, manager);
    }

    /** {@link #cosSin(NDArray, ScalarType, NDManager)} with the inverse frequencies already on the device ({@link #invFreqOn}). */
    public NDArray[] cosSin(NDArray positions, NDArray invFreqTensor, ScalarType dtype, NDManager manager) {
        try (NDManager tmp = manager.newSubManager()) {
            NDArray pos = positions.toType(DataType.FLOAT32, true); // a copy: it is closed with tmp
            pos.attach(tmp);
            NDArray freqs = pos.expandDims(-1).mul(invFreqTensor);
            NDArray emb = freqs.concat(freqs, -1);
            NDArray cos = emb.cos();
            NDArray sin = emb.sin();
            if (dtype != ScalarType.FLOAT32) {
                cos = Torch.copy(cos, dtype);
                sin = Torch.copy(sin, dtype);
            }
            cos.attach(manager);
            sin.attach(manager);
            return new NDArray[] {cos, sin};
        }
    }

    /** {@code x * cos + rotate_half(x) * sin} for {@code x [B, H, T, d]} and tables {@code [B, T, d]}. */
    public static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        NDArray c = cos.expandDims(1);
        NDArray s = sin.expandDims(1);
        return x.mul(c).add(rotateHalf(x).mul(s));
    }

    /** {@code cat(-x[..., d/2:], x[..., :d/2])}. */
    public static NDArray rotateHalf(NDArray x) {
        long d = x.getShape().get(x.getShape().dimension() - 1);
        long half = d / 2;
        NDArray first = SLICE.call(x, -1L, 0L, half, 1L);
        NDArray second = SLICE.call(x, -1L, half, d, 1L);
        NDArray neg = NEG.call(second);
        return neg.concat(first, -1);
    }

    /** Shape of the tables for a batch: {@code [B, T, head_dim]}. */
    public Shape tableShape(long batch, long seqLen) {
        return new Shape(batch, seqLen, headDim);
    }
}
