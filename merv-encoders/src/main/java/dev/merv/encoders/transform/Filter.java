package dev.merv.encoders.transform;

/** PIL resampling filters (and the kernels torch's antialiased interpolation shares with them). */
public enum Filter {
    /** Triangle kernel, support 1 ({@code Image.BILINEAR}). */
    BILINEAR(1.0),
    /** Keys cubic with {@code a = -0.5}, support 2 ({@code Image.BICUBIC}; torch {@code bicubic, antialias=True}). */
    BICUBIC(2.0);

    private final double support;

    Filter(double support) {
        this.support = support;
    }

    public double support() {
        return support;
    }

    public double weight(double x) {
        double ax = Math.abs(x);
        if (this == BILINEAR) {
            return ax < 1.0 ? 1.0 - ax : 0.0;
        }
        final double a = -0.5;
        if (ax < 1.0) {
            return ((a + 2.0) * ax - (a + 3.0)) * ax * ax + 1;
        }
        if (ax < 2.0) {
            return (((ax - 5) * ax + 8) * ax - 4) * a;
        }
        return 0.0;
    }
}
