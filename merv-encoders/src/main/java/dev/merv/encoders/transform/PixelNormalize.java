package dev.merv.encoders.transform;

/** torchvision's {@code ToTensor} + {@code Normalize} on an interleaved 8-bit RGB image. */
final class PixelNormalize {

    private PixelNormalize() {}

    /**
     * Writes {@code ((px / 255) - mean[c]) / std[c]} channel-planar ({@code [3, plane]}) into {@code out} from
     * {@code offset}; {@code px} holds {@code plane} interleaved RGB pixels.
     */
    static void chw(byte[] px, int plane, float[] mean, float[] std, float[] out, int offset) {
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                float v = (px[i * 3 + c] & 0xff) / 255f;
                out[offset + c * plane + i] = (v - mean[c]) / std[c];
            }
        }
    }
}
