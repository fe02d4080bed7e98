package dev.merv.encoders.layers;

import ai.djl.ndarray.NDArray;
import dev.merv.core.torch.Torch;
import java.util.Locale;

/** The MLP activations the video encoders use, by their upstream config names. */
public enum Activation {
    /** Exact erf GELU ({@code nn.GELU()}, HF {@code gelu}). */
    GELU,
    /** CLIP's {@code quick_gelu}: {@code x * sigmoid(1.702 x)}. */
    QUICK_GELU,
    /** HF {@code gelu_fast} / {@code gelu_pytorch_tanh}: the tanh approximation. */
    GELU_TANH;

    public NDArray apply(NDArray x) {
        switch (this) {
            case GELU:
                return Torch.gelu(x);
            case QUICK_GELU:
                try (NDArray s = Torch.mulScalar(x, 1.702f); NDArray g = Torch.sigmoid(s)) { // graph-safe scalar
                    return x.mul(g);
                }
            default:
                return Torch.geluTanh(x);
        }
    }

    /** Parses an HF {@code hidden_act} value; fails naming the value. */
    public static Activation ofHf(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu":
                return GELU;
            case "quick_gelu":
                return QUICK_GELU;
            case "gelu_fast":
            case "gelu_new":
            case "gelu_pytorch_tanh":
                return GELU_TANH;
            default:
                throw new IllegalArgumentException("hidden_act '" + name + "' is not supported (gelu, quick_gelu, gelu_fast,"
                        + " gelu_new, gelu_pytorch_tanh)");
        }
    }
}
