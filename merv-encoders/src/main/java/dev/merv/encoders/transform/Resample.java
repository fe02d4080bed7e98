package dev.merv.encoders.transform;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Separable antialiased resampling as PIL's {@code ImagingResample} computes it: per output pixel a
 * window of {@code support * max(scale, 1)} input pixels, weights normalised to sum 1, horizontal
 * pass first. The 8-bit path reproduces PIL's fixed-point arithmetic (22 fractional bits, rounding
 * and clamping to 0..255 after each pass), which is what torchvision's {@code Resize} on a PIL image
 * runs. The float path is the same coefficients in double, as torch's {@code interpolate(...,
 * antialias=True)} computes them (used to resample position grids).
 */
public final class Resample {

    private static final int PRECISION_BITS = 32 - 8 - 2;

    private Resample() {}

    /** Per output index: first input index, count, normalised weights. */
    record Coeffs(int[] start, int[] count, double[][] weights) {}

    static Coeffs coefficients(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = filter.support() * filterScale;
        double ss = 1.0 / filterScale;
        int[] start = new int[outSize];
        int[] count = new int[outSize];
        double[][] w = new double[outSize][];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            int xmin = Math.max((int) (center - support + 0.5), 0);
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double[] k = new double[Math.max(xmax, 0)];
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                k[x] = filter.weight((x + xmin - center + 0.5) * ss);
                ww += k[x];
            }
            if (ww != 0.0) {
                for (int x = 0; x < xmax; x++) {
                    k[x] /= ww;
                }
            }
            start[xx] = xmin;
            count[xx] = xmax;
            w[xx] = k;
        }
        return new Coeffs(start, count, w);
    }

    private static int[][] fixedPoint(double[][] w) {
        int[][] out = new int[w.length][];
        for (int i = 0; i < w.length; i++) {
            out[i] = new int[w[i].length];
            for (int j = 0; j < w[i].length; j++) {
                double v = w[i][j] * (1 << PRECISION_BITS);
                out[i][j] = (int) (v < 0 ? -0.5 + v : 0.5 + v);
            }
        }
        return out;
    }

    private static int clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /** One axis's fixed-point kernel for a size pair and filter: first input index and weights per output index. */
    private record Kernel(int[] start, int[][] weights) {}

    private record KernelKey(int in, int out, Filter filter) {}

    /** Kernels are the same for every frame of a video (and every video of a size): computed once. */
    private static final Map<KernelKey, Kernel> KERNELS = new ConcurrentHashMap<>();

    private static Kernel kernel(int in, int out, Filter filter) {
        return KERNELS.computeIfAbsent(new KernelKey(in, out, filter), k -> {
            Coeffs c = coefficients(in, out, filter);
            return new Kernel(c.start(), fixedPoint(c.weights()));
        });
    }

    /**
     * PIL {@code Image.resize((outW, outH), filter)} of an interleaved 8-bit image with {@code channels}
     * channels ({@code height x width x channels}, row-major).
     *
     * <p>Bit-exact with PIL whatever the loop order, since the arithmetic is integer: the horizontal pass
     * accumulates all channels of a pixel together over one contiguous window, the vertical pass adds whole
     * input rows, scaled, into a row of accumulators (sequential memory instead of a column walk).
     */
    public static byte[] resizeUint8(byte[] in, int width, int height, int channels, int outW, int outH, Filter filter) {
        byte[] cur = in;
        int curW = width;
        int half = 1 << (PRECISION_BITS - 1);
        if (outW != width) {
            Kernel k = kernel(width, outW, filter);
            byte[] out = new byte[height * outW * channels];
            for (int y = 0; y < height; y++) {
                int rowIn = y * width * channels;
                int rowOut = y * outW * channels;
                if (channels == 3) {
                    for (int xx = 0; xx < outW; xx++) {
                        int[] kk = k.weights()[xx];
                        int p = rowIn + k.start()[xx] * 3;
                        int a0 = half;
                        int a1 = half;
                        int a2 = half;
                        for (int x = 0; x < kk.length; x++, p += 3) {
                            int w = kk[x];
                            a0 += (cur[p] & 0xff) * w;
                            a1 += (cur[p + 1] & 0xff) * w;
                            a2 += (cur[p + 2] & 0xff) * w;
                        }
                        int o = rowOut + xx * 3;
                        out[o] = (byte) clip8(a0);
                        out[o + 1] = (byte) clip8(a1);
                        out[o + 2] = (byte) clip8(a2);
                    }
                } else {
                    for (int xx = 0; xx < outW; xx++) {
                        int s = k.start()[xx];
                        int[] kk = k.weights()[xx];
                        for (int ch = 0; ch < channels; ch++) {
                            int acc = half;
                            for (int x = 0; x < kk.length; x++) {
                                acc += (cur[rowIn + (s + x) * channels + ch] & 0xff) * kk[x];
                            }
                            out[rowOut + xx * channels + ch] = (byte) clip8(acc);
                        }
                    }
                }
            }
            cur = out;
            curW = outW;
        }
        if (outH != height) {
            Kernel k = kernel(height, outH, filter);
            int stride = curW * channels;
            byte[] out = new byte[outH * stride];
            int[] acc = new int[stride];
            for (int yy = 0; yy < outH; yy++) {
                int s = k.start()[yy];
                int[] kk = k.weights()[yy];
                java.util.Arrays.fill(acc, half);
                for (int y = 0; y < kk.length; y++) {
                    int w = kk[y];
                    int row = (s + y) * stride;
                    for (int i = 0; i < stride; i++) {
                        acc[i] += (cur[row + i] & 0xff) * w;
                    }
                }
                int o = yy * stride;
                for (int i = 0; i < stride; i++) {
                    out[o + i] = (byte) clip8(acc[i]);
                }
            }
            cur = out;
        }
        return cur == in ? in.clone() : cur;
    }

    /**
     * Antialiased resampling of a float grid {@code [channels, height, width]} to
     * {@code [channels, outH, outW]} (torch {@code interpolate(mode, antialias=True, align_corners=False)}).
     */
    public static double[] resizeFloat(double[] in, int channels, int height, int width, int outH, int outW, Filter filter) {
        Coeffs cw = coefficients(width, outW, filter);
        Coeffs ch = coefficients(height, outH, filter);
        double[] tmp = new double[channels * height * outW];
        for (int c = 0; c < channels; c++) {
            for (int y = 0; y < height; y++) {
                for (int xx = 0; xx < outW; xx++) {
                    double acc = 0;
                    double[] k = cw.weights()[xx];
                    int s = cw.start()[xx];
                    for (int x = 0; x < k.length; x++) {
                        acc += in[(c * height + y) * width + s + x] * k[x];
                    }
                    tmp[(c * height + y) * outW + xx] = acc;
                }
            }
        }
        double[] out = new double[channels * outH * outW];
        for (int c = 0; c < channels; c++) {
            for (int yy = 0; yy < outH; yy++) {
                double[] k = ch.weights()[yy];
                int s = ch.start()[yy];
                for (int xx = 0; xx < outW; xx++) {
                    double acc = 0;
                    for (int y = 0; y < k.length; y++) {
                        acc += tmp[(c * height + s + y) * outW + xx] * k[y];
                    }
                    out[(c * outH + yy) * outW + xx] = acc;
                }
            }
        }
        return out;
    }
}
