package dev.merv.encoders.transform;

/**
 * torchvision's {@code ToTensor} + {@code Normalize} on interleaved 8-bit RGB: {@code ((v / 255f) - mean[c]) /
 * std[c]}, the same float operations, tabulated once for the 256 byte values of each channel.
 */
final class PixelNormalize {

    private final float[][] table = new float[3][256];

    PixelNormalize(float[] mean, float[] std) {
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                float x = v / 255f;
                table[c][v] = (x - mean[c]) / std[c];
            }
        }
    }

    /** Writes {@code plane} interleaved RGB pixels of {@code px} channel-planar ({@code [3, plane]}) into {@code out}. */
    void chw(byte[] px, int plane, float[] out, int offset) {
        for (int c = 0; c < 3; c++) {
            float[] lut = table[c];
            int o = offset + c * plane;
            for (int i = 0; i < plane; i++) {
                out[o + i] = lut[px[i * 3 + c] & 0xff];
            }
        }
    }
}
