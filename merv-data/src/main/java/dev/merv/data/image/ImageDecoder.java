package dev.merv.data.image;

import dev.merv.core.model.Frame;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import dev.merv.data.video.VideoDecoder;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Decodes a still image to RGB like PIL's {@code Image.open(p).convert("RGB")}: grey is
 * replicated, alpha is dropped (not composited), palettes are expanded. ImageIO reads it when it
 * can; otherwise FFmpeg's image decoders are tried (CMYK JPEG, WebP, ...). Neither succeeding is
 * {@link SkipReason#UNREADABLE_IMAGE}.
 */
public final class ImageDecoder {

    static {
        ImageIO.setUseCache(false);
    }

    private final VideoDecoder fallback;

    public ImageDecoder(VideoDecoder fallback) {
        this.fallback = fallback;
    }

    public Frame decode(Path file) throws SampleException {
        if (!Files.exists(file)) {
            throw new SampleException(SkipReason.MISSING, file + ": no such file");
        }
        String imageIoError;
        try (InputStream in = Files.newInputStream(file)) {
            BufferedImage img = ImageIO.read(in);
            if (img != null) {
                return toFrame(img);
            }
            imageIoError = "no ImageIO reader";
        } catch (IOException | RuntimeException e) {
            imageIoError = e.toString();
        }
        try {
            return fallback.decodeFirst(file);
        } catch (SampleException e) {
            throw new SampleException(SkipReason.UNREADABLE_IMAGE, file + ": unreadable image (ImageIO: "
                    + imageIoError + "; FFmpeg: " + e.getMessage() + ")");
        }
    }

    /**
     * RGB bytes of an image, alpha dropped. Grey images (with or without alpha) are read from their samples and the
     * grey replicated, as PIL's {@code convert("RGB")}: {@code getRGB} would convert the linear-grey colour space to
     * sRGB and brighten them. 16-bit grey is clipped to 255 as Pillow converts its {@code I;16} mode; 1-, 2- and 4-bit
     * grey is scaled to 8 bits as libpng expands it for PIL.
     */
    public static Frame toFrame(BufferedImage img) {
        ColorModel cm = img.getColorModel();
        if (!(cm instanceof IndexColorModel) && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            return grey(img, cm.getComponentSize(0));
        }
        int w = img.getWidth();
        int h = img.getHeight();
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0, j = 0; i < argb.length; i++, j += 3) {
            int p = argb[i];
            rgb[j] = (byte) (p >>> 16);
            rgb[j + 1] = (byte) (p >>> 8);
            rgb[j + 2] = (byte) p;
        }
        return new Frame(w, h, rgb);
    }

    private static Frame grey(BufferedImage img, int bits) {
        int w = img.getWidth();
        int h = img.getHeight();
        Raster raster = img.getRaster();
        int max = (1 << bits) - 1;
        int[] row = new int[w];
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            raster.getSamples(0, y, w, 1, 0, row);
            for (int x = 0; x < w; x++) {
                int v = row[x];
                int g = bits == 8 ? v : bits > 8 ? Math.min(v, 255) : v * 255 / max;
                int j = (y * w + x) * 3;
                rgb[j] = (byte) g;
                rgb[j + 1] = (byte) g;
                rgb[j + 2] = (byte) g;
            }
        }
        return new Frame(w, h, rgb);
    }
}
