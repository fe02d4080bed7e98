package dev.merv.train;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.build.MervModels;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.model.SplicedInputs;
import dev.merv.core.train.BatchPlan;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.core.torch.Torch;
import dev.merv.data.batch.MervBatchSource;
import dev.merv.data.cache.CacheLookup;
import dev.merv.data.cache.FeatureCache;
import dev.merv.data.cache.FeatureKeys;
import dev.merv.data.cache.FileHashes;
import dev.merv.data.check.SkipLog;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.core.config.Stage;
import dev.merv.llm.LlmRegistry;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * merv-tiny's real encoders on the synthetic dataset: a micro-batch whose features come from the cache
 * gives bitwise the projected tokens the same micro-batch computes from its clips, in each precision
 * (the model held as the trainer holds it: frozen weights and projector compute copies in that dtype).
 */
class FeatureCacheHitTest {

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void aHitIsBitwiseTheRecomputation(Precision precision, @TempDir Path tmp) throws Exception {
        TinySetup tiny = TinySetup.get();
        Training t = tiny.training(tmp).precision(precision).build();
        ModelConfig m = t.config().model();
        BatchPlan plan = BatchPlan.of(8, 4, 1);
        try (NDManager mgr = NDManager.newBaseManager();
                VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(tiny.videollava(), Stage.FINETUNE))) {
            Merv merv = MervModels.build(m, t.weights(), precision, MervModels.Purpose.TRAINING, mgr, 3,
                    new Merv.Options().keepIntermediates(true));
            merv.projectorModule().castTo(precision.compute(), mgr);
            merv.fusion().castTo(precision.compute(), mgr);
            var text = LlmRegistry.text(m.llmBackboneId(), MervModels.tokenizerDir(m.llmBackboneId(), t.weights()),
                    LlmRegistry.Options.PARITY);
            MervBatchSource.Options o = MervBatchSource.Options.defaults(3, m.llmMaxLength(), m.visualFeatureLength())
                    .withThreads(1);
            FileHashes hashes = new FileHashes(null);
            FeatureKeys keys = t.featureKeys(hashes, true);
            Map<String, NDArray> plain;
            try (FeatureCache cache = FeatureCache.open(tmp.resolve("cache"), FeatureCache.Options.defaults());
                    MervBatchSource none = new MervBatchSource(ds, text, t.encoderInputs(), o, new SkipLog());
                    MervBatchSource cached = new MervBatchSource(ds, text, t.encoderInputs(), o, new SkipLog(),
                            new CacheLookup(cache, keys, hashes, true))) {
                int step = firstMultimodalStep(none, plan, mgr);
                try (MervMicroBatch b = none.load(0, step, 0, 0, plan, mgr)) {
                    plain = copies(merv.splice(b.batch()), mgr);
                }
                // the first two rows alone (same sampler order, half the micro-batch), which fills the cache with them
                BatchPlan half = BatchPlan.of(8, 2, 1);
                try (MervMicroBatch b = cached.load(0, step, 0, 0, half, mgr)) {
                    assertThat(b.batch().multimodalIndices()).isNotEmpty();
                    merv.splice(b.batch());
                }
                // then the whole micro-batch: some rows hit, the others are computed; then every row hits
                for (String pass : new String[] {"mixed", "all hits"}) {
                    try (MervMicroBatch b = cached.load(0, step, 0, 0, plan, mgr)) {
                        if (pass.equals("mixed")) {
                            assertThat(b.cacheHits()).isPositive().isLessThan(b.cacheLookups());
                        } else {
                            assertThat(b.cacheHits()).isEqualTo(b.cacheLookups());
                        }
                        Map<String, NDArray> got = copies(merv.splice(b.batch()), mgr);
                        for (int i = 0; i < 4; i++) {
                            assertBitwise(pass + ": projected_" + i, got.get("projected_" + i), plain.get("projected_" + i));
                        }
                        assertBitwise(pass + ": fused", got.get("fused"), plain.get("fused"));
                    }
                }
                assertThat(cached.decodes()).isPositive();
            }
        }
    }

    private static int firstMultimodalStep(MervBatchSource s, BatchPlan plan, NDManager mgr) {
        for (int step = 0; step < s.stepsPerEpoch(0, plan); step++) {
            try (MervMicroBatch b = s.load(0, step, 0, 0, plan, mgr)) {
                if (b.batch().hasMedia()) {
                    return step;
                }
            }
        }
        throw new AssertionError("no multimodal micro-batch");
    }

    private static Map<String, NDArray> copies(SplicedInputs in, NDManager keep) {
        Map<String, NDArray> out = new java.util.HashMap<>();
        in.intermediates().forEach((k, v) -> {
            NDArray c = Torch.copy(v, dev.merv.core.torch.ScalarType.FLOAT32);
            c.attach(keep);
            out.put(k, c);
        });
        return out;
    }

    static void assertBitwise(String what, NDArray got, NDArray want) {
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        assertThat(g.length).as(what).isEqualTo(w.length);
        for (int i = 0; i < w.length; i++) {
            if (Float.floatToRawIntBits(g[i]) != Float.floatToRawIntBits(w[i])) {
                throw new AssertionError(what + "[" + i + "]: " + g[i] + " vs " + w[i]);
            }
        }
    }
}
