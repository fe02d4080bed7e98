package dev.merv.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import java.util.Random;

/**
 * Seeded random weights for tiny test/demo models that have no checkpoint: matrices
 * {@code N(0, 1/fan_in)} (embeddings and learned tokens {@code N(0, 0.02)}), norm weights 1, layer-scale
 * gammas 0.1, biases 0. Deterministic for a seed and a parameter order; not meant to reproduce any
 * framework's initialiser.
 */
public final class RandomInit {

    private RandomInit() {}

    /** Initialises every parameter of {@code module} that has no value yet. */
    public static void initialize(Module module, long seed, NDManager manager) {
        Random rng = new Random(seed);
        for (Map.Entry<String, Param> e : module.namedParameters().entrySet()) {
            Param p = e.getValue();
            if (p.isSet()) {
                continue;
            }
            p.set(sample(e.getKey(), p.shape(), rng, manager));
        }
    }

    static NDArray sample(String name, Shape shape, Random rng, NDManager manager) {
        long n = shape.size();
        float[] v = new float[Math.toIntExact(n)];
        String leaf = name.substring(name.lastIndexOf('.') + 1).toLowerCase(java.util.Locale.ROOT);
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (shape.dimension() >= 2 && !(lower.contains("pos") || lower.contains("token") && !lower.contains("proj"))) {
            long fanIn = n / shape.get(0);
            boolean embedding = lower.contains("embed_tokens") || lower.contains("embedding") && !lower.contains("patch");
            double std = embedding ? 0.02 : 1.0 / Math.sqrt(Math.max(1, fanIn));
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rng.nextGaussian() * std);
            }
        } else if (shape.dimension() >= 2 || leaf.contains("token") || leaf.contains("pos") || leaf.equals("q")) {
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rng.nextGaussian() * 0.02);
            }
        } else if (leaf.equals("gamma") || leaf.startsWith("ls") || lower.contains("layer_scale") || lower.contains(".ls")) {
            java.util.Arrays.fill(v, 0.1f);
        } else if (leaf.equals("weight")) {
            java.util.Arrays.fill(v, 1f);
        }
        return manager.create(v, shape);
    }
}
