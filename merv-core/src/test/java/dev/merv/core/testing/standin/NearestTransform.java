package dev.merv.core.testing.standin;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test stand-in for an encoder transform (the real ones live in merv-encoders): nearest-neighbour
 * resize to {@code size}, /255, laid out TCHW or CTHW; CTHW flips the clip horizontally when the
 * random stream says so (like LanguageBind's training flip). Counts its calls.
 */
public final class NearestTransform implements FrameTransform {

    private final int size;
    private final Layout layout;
    public final AtomicLong calls = new AtomicLong();

    public NearestTransform(int size, Layout layout) {
        this.size = size;
        this.layout = layout;
    }

    @Override
    public int height() {
        return size;
    }

    @Override
    public int width() {
        return size;
    }

    @Override
    public Layout layout() {
        return layout;
    }

    @Override
    public float[] apply(List<Frame> frames, Random random) {
        calls.incrementAndGet();
        int t = frames.size();
        boolean flip = layout == Layout.CTHW && random != null && random.nextDouble() < 0.5;
        float[] out = new float[t * 3 * size * size];
        for (int f = 0; f < t; f++) {
            Frame fr = frames.get(f);
            for (int y = 0; y < size; y++) {
                int sy = y * fr.height() / size;
                for (int x = 0; x < size; x++) {
                    int sx = (flip ? size - 1 - x : x) * fr.width() / size;
                    for (int c = 0; c < 3; c++) {
                        float v = (fr.rgb()[(sy * fr.width() + sx) * 3 + c] & 255) / 255f;
                        int k = layout == Layout.TCHW ? ((f * 3 + c) * size + y) * size + x
                                : ((c * t + f) * size + y) * size + x;
                        out[k] = v;
                    }
                }
            }
        }
        return out;
    }
}
