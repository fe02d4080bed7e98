package dev.merv.core.model;

import java.util.List;

/**
 * Host copy of the fusion's per-sample encoder weights from the last forward, for logging (W18).
 *
 * @param values row-major {@code [rows, encoders]}
 */
public record MixingWeights(List<String> encoderIds, int rows, float[] values) {

    /** The mean weight of each encoder over the rows. */
    public double[] meanPerEncoder() {
        int e = encoderIds.size();
        double[] m = new double[e];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < e; j++) {
                m[j] += values[r * e + j];
            }
        }
        for (int j = 0; j < e; j++) {
            m[j] /= Math.max(1, rows);
        }
        return m;
    }
}
