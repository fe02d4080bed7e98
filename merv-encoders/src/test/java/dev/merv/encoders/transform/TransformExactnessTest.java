package dev.merv.encoders.transform;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.core.model.Frame;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The transforms' fast paths (kernels computed once, all channels in one horizontal sweep, rows added into
 * accumulators, normalisation from tables, one resize shared by encoders with the same size and filter) give
 * bit for bit what the plain loops of PIL's and torch's algorithms give, on many sizes, both directions, both
 * filters and 1, 3 and 4 channels. The plain loops below are the algorithms written out as their sources
 * order them.
 */
class TransformExactnessTest {

    /** PIL's ImagingResample in its own loop order: horizontal then vertical, one channel at a time. */
    static byte[] plainResize(byte[] in, int width, int height, int channels, int outW, int outH, Filter filter) {
        int bits = 22;
        byte[] cur = in;
        int curW = width;
        if (outW != width) {
            int[][] k = fixed(Resample.coefficients(width, outW, filter).weights(), bits);
            int[] start = Resample.coefficients(width, outW, filter).start();
            byte[] out = new byte[height * outW * channels];
            for (int y = 0; y < height; y++) {
                for (int xx = 0; xx < outW; xx++) {
                    for (int c = 0; c < channels; c++) {
                        int acc = 1 << (bits - 1);
                        for (int x = 0; x < k[xx].length; x++) {
                            acc += (cur[(y * width + start[xx] + x) * channels + c] & 0xff) * k[xx][x];
                        }
                        out[(y * outW + xx) * channels + c] = (byte) Math.min(Math.max(acc >> bits, 0), 255);
                    }
                }
            }
            cur = out;
            curW = outW;
        }
        if (outH != height) {
            int[][] k = fixed(Resample.coefficients(height, outH, filter).weights(), bits);
            int[] start = Resample.coefficients(height, outH, filter).start();
            int stride = curW * channels;
            byte[] out = new byte[outH * stride];
            for (int yy = 0; yy < outH; yy++) {
                for (int i = 0; i < stride; i++) {
                    int acc = 1 << (bits - 1);
                    for (int y = 0; y < k[yy].length; y++) {
                        acc += (cur[(start[yy] + y) * stride + i] & 0xff) * k[yy][y];
                    }
                    out[yy * stride + i] = (byte) Math.min(Math.max(acc >> bits, 0), 255);
                }
            }
            cur = out;
        }
        return cur == in ? in.clone() : cur;
    }

    static int[][] fixed(double[][] w, int bits) {
        int[][] out = new int[w.length][];
        for (int i = 0; i < w.length; i++) {
            out[i] = new int[w[i].length];
            for (int j = 0; j < w[i].length; j++) {
                double v = w[i][j] * (1 << bits);
                out[i][j] = (int) (v < 0 ? -0.5 + v : 0.5 + v);
            }
        }
        return out;
    }

    static Frame frame(Random r, int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        r.nextBytes(rgb);
        return new Frame(w, h, rgb);
    }

    @Test
    void resizeIsBitExactWithThePlainLoops() {
        Random r = new Random(11);
        int[][] sizes = {{854, 480, 224, 224}, {480, 854, 224, 224}, {97, 61, 224, 224}, {640, 360, 224, 224},
            {300, 301, 299, 302}, {225, 224, 224, 224}, {16, 9, 37, 5}, {1, 1, 3, 3}};
        for (int[] s : sizes) {
            for (Filter f : Filter.values()) {
                for (int ch : new int[] {1, 3, 4}) {
                    byte[] img = new byte[s[0] * s[1] * ch];
                    r.nextBytes(img);
                    assertThat(Resample.resizeUint8(img, s[0], s[1], ch, s[2], s[3], f))
                            .as("%dx%d -> %dx%d %s %d channels", s[0], s[1], s[2], s[3], f, ch)
                            .isEqualTo(plainResize(img, s[0], s[1], ch, s[2], s[3], f));
                }
            }
        }
    }

    @Test
    void resizeNaiveIsBitExactAndSharesOneResizePerFrame() {
        Random r = new Random(12);
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        List<Frame> clip = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            clip.add(frame(r, 203, 117));
        }
        for (Filter f : Filter.values()) {
            ResizeNaiveTransform t = new ResizeNaiveTransform(64, 64, f, mean, std);
            ResizeNaiveTransform other = new ResizeNaiveTransform(64, 64, f, new float[] {0.5f, 0.5f, 0.5f},
                    new float[] {0.5f, 0.5f, 0.5f});
            float[] got = t.apply(clip, null);
            // a second encoder with the same size and filter on the same frames: the resize is shared
            float[] shared = other.apply(clip, null);
            int plane = 64 * 64;
            for (int ti = 0; ti < clip.size(); ti++) {
                Frame fr = clip.get(ti);
                byte[] px = plainResize(fr.rgb(), fr.width(), fr.height(), 3, 64, 64, f);
                for (int c = 0; c < 3; c++) {
                    for (int i = 0; i < plane; i++) {
                        float v = (px[i * 3 + c] & 0xff) / 255f;
                        int o = ti * 3 * plane + c * plane + i;
                        assertThat(Float.floatToRawIntBits(got[o])).isEqualTo(Float.floatToRawIntBits((v - mean[c]) / std[c]));
                        assertThat(Float.floatToRawIntBits(shared[o])).isEqualTo(Float.floatToRawIntBits((v - 0.5f) / 0.5f));
                    }
                }
            }
        }
    }

    @Test
    void languageBindIsBitExactWithNormaliseThenBilinear() {
        Random r = new Random(13);
        float[] mean = {0.48145466f, 0.4578275f, 0.40821073f};
        float[] std = {0.26862954f, 0.26130258f, 0.27577711f};
        LanguageBindTransform t = new LanguageBindTransform(48, LanguageBindTransform.Flip.TRAINING, mean, std);
        for (int[] wh : new int[][] {{171, 96}, {96, 171}, {48, 48}, {33, 70}}) {
            List<Frame> clip = List.of(frame(r, wh[0], wh[1]), frame(r, wh[0], wh[1]));
            for (String variant : t.variants()) {
                float[] got = t.applyVariant(clip, variant);
                float[] want = plainLanguageBind(clip, 48, mean, std, variant.equals(LanguageBindTransform.FLIPPED));
                assertThat(got.length).isEqualTo(want.length);
                for (int i = 0; i < want.length; i++) {
                    if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                        throw new AssertionError(wh[0] + "x" + wh[1] + " " + variant + " [" + i + "]: " + got[i] + " vs " + want[i]);
                    }
                }
            }
        }
    }

    /** The clip normalised whole, then torch's bilinear resize of the short side, centre crop, optional flip. */
    static float[] plainLanguageBind(List<Frame> frames, int size, float[] mean, float[] std, boolean flipped) {
        int w = frames.get(0).width();
        int h = frames.get(0).height();
        int newW = w < h ? size : (int) Math.floor((double) w / h * size);
        int newH = w < h ? (int) Math.floor((double) h / w * size) : size;
        int top = (int) Math.rint((newH - size) / 2.0);
        int left = (int) Math.rint((newW - size) / 2.0);
        int t = frames.size();
        int plane = size * size;
        float[] out = new float[3 * t * plane];
        float[] norm = new float[h * w];
        for (int c = 0; c < 3; c++) {
            for (int ti = 0; ti < t; ti++) {
                byte[] rgb = frames.get(ti).rgb();
                for (int i = 0; i < h * w; i++) {
                    float v = (rgb[i * 3 + c] & 0xff) / 255f;
                    norm[i] = (v - mean[c]) / std[c];
                }
                for (int oy = 0; oy < size; oy++) {
                    float[] ya = axis(h, newH, oy + top);
                    for (int ox = 0; ox < size; ox++) {
                        float[] xa = axis(w, newW, ox + left);
                        int y0 = (int) ya[0];
                        int y1 = y0 + (int) ya[1];
                        int x0 = (int) xa[0];
                        int x1 = x0 + (int) xa[1];
                        float hl1 = ya[2];
                        float hl0 = 1f - hl1;
                        float wl1 = xa[2];
                        float wl0 = 1f - wl1;
                        float v = hl0 * (wl0 * norm[y0 * w + x0] + wl1 * norm[y0 * w + x1])
                                + hl1 * (wl0 * norm[y1 * w + x0] + wl1 * norm[y1 * w + x1]);
                        out[(c * t + ti) * plane + oy * size + (flipped ? size - 1 - ox : ox)] = v;
                    }
                }
            }
        }
        return out;
    }

    /** torch's upsample_bilinear2d source index, step and weight for output index {@code o}. */
    static float[] axis(int in, int out, int o) {
        float scale = (float) in / out;
        float real = scale * (o + 0.5f) - 0.5f;
        if (real < 0) {
            real = 0;
        }
        int i = Math.min((int) Math.floor(real), in - 1);
        float l = Math.min(Math.max(real - i, 0f), 1f);
        return new float[] {i, i < in - 1 ? 1 : 0, l};
    }
}
