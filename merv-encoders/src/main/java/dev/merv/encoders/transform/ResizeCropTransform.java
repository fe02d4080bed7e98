package dev.merv.encoders.transform;

import dev.merv.core.model.Frame;
import dev.merv.core.model.FrameTransform;
import java.util.List;
import java.util.Random;

/**
 * The {@code resize-crop} and {@code letterbox} frame transforms of the PIL-based encoders (SigLIP, DINOv2,
 * ViViT; Hiera for {@code resize-crop}): the checkpoint's own evaluation transform as the reference runs it
 * through torchvision on a PIL image. Per frame:
 * <ol>
 *   <li>{@code letterbox} only: a symmetric border {@code ((max - w) / 2, (max - h) / 2)} (truncated, so an odd
 *       difference leaves the frame one pixel short of square) filled with the 8-bit normalisation mean;</li>
 *   <li>the short side resized to {@code shortSide} with the long side {@code int(shortSide * long / short)}
 *       (PIL, antialiased; skipped when the size already matches, as torchvision does);</li>
 *   <li>a centre crop of {@code side x side}, offsets rounded half to even;</li>
 *   <li>scaled by 1/255 and normalised per channel.</li>
 * </ol>
 * Output {@code [T, 3, side, side]}.
 */
public final class ResizeCropTransform implements FrameTransform {

    private final int side;
    private final int shortSide;
    private final Filter filter;
    private final float[] mean;
    private final float[] std;
    private final int[] letterboxFill;
    private final PixelNormalize normalise;

    /**
     * @param side the square crop
     * @param shortSide the short side the frame is resized to before the crop ({@code >= side})
     * @param letterboxFill the border colour (8-bit RGB) of {@code letterbox}; null for {@code resize-crop}
     */
    public ResizeCropTransform(int side, int shortSide, Filter filter, float[] mean, float[] std, int[] letterboxFill) {
        if (side <= 0 || shortSide < side || mean.length != 3 || std.length != 3
                || letterboxFill != null && letterboxFill.length != 3) {
            throw new IllegalArgumentException("resize-crop: need 0 < side <= shortSide (got " + side + ", " + shortSide
                    + ") and 3 values of mean, std and fill");
        }
        this.side = side;
        this.shortSide = shortSide;
        this.filter = filter;
        this.mean = mean.clone();
        this.std = std.clone();
        this.letterboxFill = letterboxFill == null ? null : letterboxFill.clone();
        this.normalise = new PixelNormalize(this.mean, this.std);
    }

    @Override
    public int height() {
        return side;
    }

    @Override
    public int width() {
        return side;
    }

    public int shortSide() {
        return shortSide;
    }

    public Filter filter() {
        return filter;
    }

    /** Whether frames are letterboxed before the resize. */
    public boolean letterbox() {
        return letterboxFill != null;
    }

    @Override
    public float[] apply(List<Frame> frames, Random random) {
        int plane = side * side;
        float[] out = new float[frames.size() * 3 * plane];
        for (int t = 0; t < frames.size(); t++) {
            normalise.chw(crop(frames.get(t)), plane, out, t * 3 * plane);
        }
        return out;
    }

    /** Steps 1-3 on one frame: interleaved RGB {@code side x side}. */
    byte[] crop(Frame f) {
        byte[] px = f.rgb();
        int w = f.width();
        int h = f.height();
        if (letterboxFill != null) {
            int max = Math.max(w, h);
            int padX = (max - w) / 2;
            int padY = (max - h) / 2;
            int nw = w + 2 * padX;
            int nh = h + 2 * padY;
            byte[] padded = new byte[nw * nh * 3];
            for (int i = 0; i < nw * nh; i++) {
                for (int c = 0; c < 3; c++) {
                    padded[i * 3 + c] = (byte) letterboxFill[c];
                }
            }
            for (int y = 0; y < h; y++) {
                System.arraycopy(px, y * w * 3, padded, ((y + padY) * nw + padX) * 3, w * 3);
            }
            px = padded;
            w = nw;
            h = nh;
        }
        // torchvision's Resize(int): the short side becomes shortSide, the long side int(shortSide * long / short)
        int rw;
        int rh;
        if (w <= h) {
            rw = shortSide;
            rh = (int) ((double) ((long) shortSide * h) / w);
        } else {
            rh = shortSide;
            rw = (int) ((double) ((long) shortSide * w) / h);
        }
        if (rw != w || rh != h) {
            px = Resample.resizeUint8(px, w, h, 3, rw, rh, filter);
        }
        int top = (int) Math.rint((rh - side) / 2.0);
        int left = (int) Math.rint((rw - side) / 2.0);
        byte[] out = new byte[side * side * 3];
        for (int y = 0; y < side; y++) {
            System.arraycopy(px, ((y + top) * rw + left) * 3, out, y * side * 3, side * 3);
        }
        return out;
    }

    @Override
    public String identity() {
        return (letterboxFill != null ? "letterbox(fill=" + java.util.Arrays.toString(letterboxFill) + ", " : "resize-crop(")
                + "side=" + side + ", shortSide=" + shortSide + ", filter=" + filter + ", mean=" + java.util.Arrays.toString(mean)
                + ", std=" + java.util.Arrays.toString(std) + ")";
    }

    @Override
    public String toString() {
        return (letterboxFill != null ? "letterbox" : "resize-crop") + "(" + side + ", short side " + shortSide + ", " + filter
                + ")";
    }
}
