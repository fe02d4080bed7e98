package dev.merv.core.train;

import dev.merv.core.testing.standin.TinyLm;
import dev.merv.core.testing.standin.TinyBatch;
import dev.merv.core.testing.standin.TinySource;
import dev.merv.core.model.Precision;
import dev.merv.core.config.Stage;
import ai.djl.ndarray.NDArray;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.Torch;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Shared set-up for trainer tests: a tiny model, a tiny data set and a small, fast config. */
final class TrainerTesting {

    static final int VOCAB = 32;
    static final int DIM = 16;
    static final int LAYERS = 2;
    static final int HEADS = 2;
    static final int HIDDEN = 24;
    static final int SEQ = 10;
    static final long MODEL_SEED = 11;

    private TrainerTesting() {}

    static TrainConfig config(Path root, String runId, int global, int perDevice, String devices, long steps) {
        TrainConfig c = new TrainConfig();
        c.runRootDir = root.toString();
        c.runId = runId;
        c.globalBatchSize = global;
        c.perDeviceBatchSize = perDevice;
        c.devices = devices;
        c.maxSteps = steps;
        c.learningRate = 1e-3;
        c.warmupRatio = 0.25;
        c.weightDecay = 0.1;
        c.precision = Precision.FP32;
        c.recompute = false;
        c.console = false;
        c.saveCheckpointAfter = 1000;
        c.keepCheckpoints = 2;
        c.bucketCapElements = 700;
        return c;
    }

    static Trainer<TinyBatch> trainer(TrainConfig c, TinySource source) {
        return new Trainer<>(c, (r, d, m) -> new TinyLm(VOCAB, DIM, LAYERS, HEADS, HIDDEN).init(MODEL_SEED, m), source, null);
    }

    static TinySource source() {
        return new TinySource(96, SEQ, VOCAB, 5);
    }

    /** The trainable weights of replica 0 as float arrays (fp32 runs: exactly the masters). */
    static Map<String, float[]> weights(Trainer<TinyBatch> t) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Param> e : t.model(0).parameters().entrySet()) {
            if (e.getValue().trainable()) {
                out.put(e.getKey(), Torch.toFloatArray(e.getValue().get()));
            }
        }
        return out;
    }

    static double maxDiff(Map<String, float[]> a, Map<String, float[]> b) {
        double worst = 0;
        for (String k : a.keySet()) {
            float[] x = a.get(k);
            float[] y = b.get(k);
            for (int i = 0; i < x.length; i++) {
                worst = Math.max(worst, Math.abs(x[i] - y[i]));
            }
        }
        return worst;
    }

    static double[] losses(List<StepRecord> h) {
        return h.stream().mapToDouble(StepRecord::loss).toArray();
    }

    static float[] grad(NDArray v) {
        try (NDArray g = v.getGradient()) {
            return Torch.toFloatArray(g);
        }
    }
}
