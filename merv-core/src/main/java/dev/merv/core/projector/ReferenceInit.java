package dev.merv.core.projector;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Param;

/**
 * The reference's parameter initialisation for projectors and fusion, drawn from a private random
 * stream so that a freshly built model is reproducible and independent of any other thread's use of
 * libtorch's global generator.
 *
 * <p>Seeding rule (docs/reference.md §3.5): the reference calls {@code torch.manual_seed(embed_dim of
 * encoder 0)} right before building the projectors, then builds projector 0..E-1 and the fusion in
 * that order; {@code Merv} does the same with {@link #seeded(long)}.
 *
 * <p>Relation to torch's RNG: the stream is an MT19937 seeded like torch's CPU generator
 * ({@code state[0] = seed mod 2^32}, Knuth's recurrence), and a float uniform draw is computed like
 * ATen's {@code uniform_real_distribution<float>} (24 random bits of one 32-bit output, scaled into
 * {@code [from, to)} in float). Draws are consumed in the reference's construction order (each
 * {@code nn.Linear}'s default init is drawn even when it is overwritten later, as in torch), so
 * uniform-based inits (Linear default, Xavier, the learnable query) follow the same sequence torch would
 * produce on CPU; the unit test compares a uniform draw against libtorch's own generator. Exact
 * parity is not a contract (normal draws and truncated normals are modelled on ATen's serial paths
 * only); determinism and the distributions of docs/reference.md §3.5 are.
 */
public final class ReferenceInit {

    private final int[] mt = new int[624];
    private int index;
    private Double nextNormal;

    private ReferenceInit(long seed) {
        mt[0] = (int) seed;
        for (int i = 1; i < 624; i++) {
            mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        }
        index = 624;
    }

    /** A stream seeded as {@code torch.manual_seed(seed)}. */
    public static ReferenceInit seeded(long seed) {
        return new ReferenceInit(seed);
    }

    /** The next raw 32-bit output (MT19937 with the standard tempering). */
    int next32() {
        if (index >= 624) {
            twist();
        }
        int y = mt[index++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y;
    }

    private void twist() {
        for (int i = 0; i < 624; i++) {
            int y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
            int v = mt[(i + 397) % 624] ^ (y >>> 1);
            if ((y & 1) != 0) {
                v ^= 0x9908b0df;
            }
            mt[i] = v;
        }
        index = 0;
    }

    /** One float in {@code [from, to)} as ATen's float uniform draw computes it. */
    public float uniform(float from, float to) {
        float x = (next32() & 0xffffff) * (1.0f / (1 << 24));
        return x * (to - from) + from;
    }

    private double uniformDouble() {
        long hi = next32() & 0xffffffffL;
        long lo = next32() & 0xffffffffL;
        long r = (hi << 32) | lo;
        return (r & ((1L << 53) - 1)) * (1.0 / (1L << 53));
    }

    /** A standard normal draw, Box-Muller with a cached second value (ATen's serial double path). */
    public double normal() {
        if (nextNormal != null) {
            double v = nextNormal;
            nextNormal = null;
            return v;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * Math.log1p(-u2));
        double theta = 2.0 * Math.PI * u1;
        nextNormal = r * Math.sin(theta);
        return r * Math.cos(theta);
    }

    // ------------------------------------------------------------------------------ parameter inits

    /** Fills {@code p} with {@code U(from, to)}. */
    public void uniform(Param p, double from, double to, NDManager manager) {
        float[] v = new float[(int) p.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = uniform((float) from, (float) to);
        }
        set(p, v, manager);
    }

    /** PyTorch's default {@code nn.Linear} init: weight and bias {@code U(-1/sqrt(in), 1/sqrt(in))}. */
    public void linear(Linear l, NDManager manager) {
        double bound = 1.0 / Math.sqrt(l.inFeatures());
        uniform(l.weight(), -bound, bound, manager);
        if (l.bias() != null) {
            uniform(l.bias(), -bound, bound, manager);
        }
    }

    /** PyTorch's default conv init for a weight {@code [out, in/groups, k...]} (+ bias): {@code U(+-1/sqrt(fan_in))}. */
    public void conv(Param weight, Param bias, NDManager manager) {
        long[] s = weight.shape().getShape();
        long fanIn = 1;
        for (int i = 1; i < s.length; i++) {
            fanIn *= s[i];
        }
        double bound = 1.0 / Math.sqrt(fanIn);
        uniform(weight, -bound, bound, manager);
        if (bias != null) {
            uniform(bias, -bound, bound, manager);
        }
    }

    /** {@code xavier_uniform_}: {@code U(+-sqrt(6/(fan_in+fan_out)))} for a 2-D {@code [out, in]} weight. */
    public void xavierUniform(Param p, NDManager manager) {
        long[] s = p.shape().getShape();
        double bound = Math.sqrt(6.0 / (s[0] + s[1]));
        uniform(p, -bound, bound, manager);
    }

    /** {@code N(mean, std)} element by element. */
    public void normal(Param p, double mean, double std, NDManager manager) {
        float[] v = new float[(int) p.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (normal() * std + mean);
        }
        set(p, v, manager);
    }

    /**
     * timm's {@code trunc_normal_(std, a=-2, b=2)}: uniform in {@code [2 cdf(a)-1, 2 cdf(b)-1)}, inverse
     * erf (libtorch's), scale by {@code std*sqrt(2)}, clamp to {@code [a, b]}.
     */
    public void truncNormal(Param p, double std, NDManager manager) {
        double a = -2.0;
        double b = 2.0;
        double l = normCdf(a / std);
        double u = normCdf(b / std);
        float[] v = new float[(int) p.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = uniform((float) (2 * l - 1), (float) (2 * u - 1));
        }
        try (NDManager tmp = manager.newSubManager()) {
            NDArray x = tmp.create(v, p.shape()).erfinv().mul((float) (std * Math.sqrt(2.0))).clip(a, b);
            float[] out = x.toFloatArray();
            set(p, out, manager);
        }
    }

    private static double normCdf(double x) {
        // (1 + erf(x / sqrt2)) / 2; |x| here is 2/std >= 2, so the tails are evaluated with erfc's series
        return 0.5 * erfc(-x / Math.sqrt(2.0));
    }

    /** Complementary error function (Numerical Recipes' Chebyshev fit, |rel err| < 1.2e-7). */
    private static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2.0 - r;
    }

    public static void constant(Param p, float value, NDManager manager) {
        float[] v = new float[(int) p.numel()];
        java.util.Arrays.fill(v, value);
        set(p, v, manager);
    }

    /** Divides an already initialised parameter by {@code divisor} (the JEPA pooler's rescale). */
    public static void divide(Param p, float divisor, NDManager manager) {
        float[] v = p.get().toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] /= divisor;
        }
        set(p, v, manager);
    }

    private static void set(Param p, float[] v, NDManager manager) {
        Shape s = p.shape();
        p.set(manager.create(v, s));
    }
}
