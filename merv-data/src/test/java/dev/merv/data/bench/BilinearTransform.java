package dev.merv.data.bench;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import java.util.List;
import java.util.Random;

/**
 * Benchmark stand-in for an encoder transform with a realistic cost: per-frame bilinear resize to
 * {@code size x size} (resize-naive), /255, per-channel normalisation, TCHW or CTHW.
 */
final class BilinearTransform implements FrameTransform {

    private final int size;
    private final Layout layout;

    BilinearTransform(int size, Layout layout) {
        this.size = size;
        this.layout = layout;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Layout layout() {
        return layout;
    }

    @Override
    public float[] apply(List<Frame> frames, Random random) {
        int t = frames.size();
        float[] out = new float[t * 3 * size * size];
        int plane = size * size;
        for (int f = 0; f < t; f++) {
            Frame fr = frames.get(f);
            int w = fr.width();
            int h = fr.height();
            byte[] rgb = fr.rgb();
            int[] x0 = new int[size];
            int[] x1 = new int[size];
            float[] wx = new float[size];
            for (int x = 0; x < size; x++) {
                float fx = Math.max(0f, (x + 0.5f) * w / size - 0.5f);
                x0[x] = Math.min(w - 1, (int) fx);
                x1[x] = Math.min(w - 1, x0[x] + 1);
                wx[x] = fx - x0[x];
            }
            for (int y = 0; y < size; y++) {
                float fy = Math.max(0f, (y + 0.5f) * h / size - 0.5f);
                int y0 = Math.min(h - 1, (int) fy);
                int y1 = Math.min(h - 1, y0 + 1);
                float wy = fy - y0;
                int r0 = y0 * w * 3;
                int r1 = y1 * w * 3;
                for (int c = 0; c < 3; c++) {
                    int base = layout == Layout.TCHW ? (f * 3 + c) * plane : (c * t + f) * plane;
                    for (int x = 0; x < size; x++) {
                        int a = x0[x] * 3 + c;
                        int b = x1[x] * 3 + c;
                        float top = (rgb[r0 + a] & 255) + wx[x] * ((rgb[r0 + b] & 255) - (rgb[r0 + a] & 255));
                        float bot = (rgb[r1 + a] & 255) + wx[x] * ((rgb[r1 + b] & 255) - (rgb[r1 + a] & 255));
                        float v = top + wy * (bot - top);
                        out[base + y * size + x] = (v * (1f / 255f) - 0.45f) * (1f / 0.225f);
                    }
                }
            }
        }
        return out;
    }
}
