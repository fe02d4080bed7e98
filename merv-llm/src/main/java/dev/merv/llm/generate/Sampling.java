package dev.merv.llm.generate;

import java.util.Arrays;
import java.util.Random;

/** Next-token choice from one row of fp32 logits, HF warper order: temperature, top-k, top-p. */
final class Sampling {

    private Sampling() {}

    /** First index of the maximum (torch.argmax's tie rule). */
    static long argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static long sample(float[] logits, GenerationConfig cfg, Random rng) {
        int v = logits.length;
        double[] l = new double[v];
        for (int i = 0; i < v; i++) {
            l[i] = logits[i] / cfg.temperature();
        }
        if (cfg.topK() > 0 && cfg.topK() < v) {
            double[] sorted = l.clone();
            Arrays.sort(sorted);
            double kth = sorted[v - cfg.topK()];
            for (int i = 0; i < v; i++) {
                if (l[i] < kth) {
                    l[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        if (cfg.topP() < 1.0) {
            Integer[] order = new Integer[v];
            for (int i = 0; i < v; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, c) -> Double.compare(l[a], l[c])); // ascending, as HF sorts
            double[] p = softmax(l);
            double cum = 0;
            // remove the low-probability tail whose mass is <= 1 - top_p, always keeping the most likely token
            for (int j = 0; j < v - 1; j++) {
                cum += p[order[j]];
                if (cum <= 1 - cfg.topP()) {
                    l[order[j]] = Double.NEGATIVE_INFINITY;
                } else {
                    break;
                }
            }
        }
        double[] p = softmax(l);
        double u = rng.nextDouble();
        double acc = 0;
        int lastPositive = 0;
        for (int i = 0; i < v; i++) {
            if (p[i] > 0) {
                acc += p[i];
                lastPositive = i;
                if (u < acc) {
                    return i;
                }
            }
        }
        return lastPositive;
    }

    static double[] softmax(double[] l) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : l) {
            max = Math.max(max, x);
        }
        double[] p = new double[l.length];
        double sum = 0;
        for (int i = 0; i < l.length; i++) {
            p[i] = l[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(l[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < l.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
