package dev.merv.data.image;

import dev.merv.core.model.Frame;
import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import dev.merv.data.video.VideoDecoder;
import java.awt.image.BufferedImage;
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

    /** RGB bytes of an image, alpha dropped. */
    public static Frame toFrame(BufferedImage img) {
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
}
