package dev.merv.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.model.Precision;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.train.StepRecord;
import dev.merv.core.weights.SafeTensors;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * merv-tiny trained three times on the same data: without a feature cache, with an empty one (which it
 * fills) and with the filled one. Every step's loss and gradient norm and the final weights are bitwise the
 * same in all three, in fp32 and in bf16: a cached value is exactly what the encoders compute. The run on the
 * filled cache decodes no video or image at all (LanguageBind's flip: the first run stored both sides of
 * every clip) and logs a hit rate of 1 on every step with media; the first run logs its hit rate too.
 */
class FeatureCacheTrainingTest {

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void aWarmCacheTrainsBitwiseAsNoCacheAndDecodesNothing(Precision precision, @TempDir Path tmp) throws Exception {
        TinySetup tiny = TinySetup.get();
        int steps = 3;
        Path cache = tmp.resolve("cache");
        TrainingResult plain = tiny.training(tmp.resolve("plain")).precision(precision).maxSteps(steps).build().run();
        TrainingResult cold = tiny.training(tmp.resolve("cold")).precision(precision).maxSteps(steps).featureCache(cache)
                .build().run();
        TrainingResult warm = tiny.training(tmp.resolve("warm")).precision(precision).maxSteps(steps).featureCache(cache)
                .build().run();

        assertSameSteps(plain.steps(), cold.steps());
        assertSameSteps(plain.steps(), warm.steps());
        assertSameWeights(plain.checkpoint(), cold.checkpoint());
        assertSameWeights(plain.checkpoint(), warm.checkpoint());

        assertThat(plain.featureCache()).isNull();
        assertThat(plain.decodes()).isPositive();
        assertThat(cold.steps().get(0).cacheLookups()).isPositive();
        assertThat(cold.steps().get(0).cacheHits()).isZero();
        assertThat(cold.featureCache().stored()).isPositive();
        assertThat(warm.decodes()).isZero();
        assertThat(warm.featureCache().stored()).isZero();
        // steps of text-only rows (the split-modality sampler groups them) look nothing up
        long withMedia = warm.steps().stream().filter(r -> r.cacheLookups() > 0).count();
        assertThat(withMedia).isPositive();
        for (StepRecord r : warm.steps()) {
            assertThat(r.cacheHits()).isEqualTo(r.cacheLookups());
        }
        List<String> lines = Files.readAllLines(warm.runDir().resolve("metrics.jsonl"));
        int logged = 0;
        for (String line : lines) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            if (o.has("feature_cache_hit_rate")) {
                assertThat(o.get("feature_cache_hit_rate").getAsDouble()).isEqualTo(1.0);
                assertThat(o.get("feature_cache_lookups").getAsLong()).isPositive();
                logged++;
            }
        }
        assertThat(logged).isEqualTo(withMedia);
        // the first step line (after the run's start line) of the filling run: nothing was cached yet
        JsonObject first = Files.readAllLines(cold.runDir().resolve("metrics.jsonl")).stream()
                .map(l -> JsonParser.parseString(l).getAsJsonObject()).filter(o -> o.has("loss")).findFirst().orElseThrow();
        assertThat(first.get("feature_cache_hit_rate").getAsDouble()).isZero();
    }

    static void assertSameSteps(List<StepRecord> want, List<StepRecord> got) {
        assertThat(got).hasSameSizeAs(want);
        for (int i = 0; i < want.size(); i++) {
            assertThat(Double.doubleToRawLongBits(got.get(i).loss())).as("step %d loss", i + 1)
                    .isEqualTo(Double.doubleToRawLongBits(want.get(i).loss()));
            assertThat(Double.doubleToRawLongBits(got.get(i).gradNorm())).as("step %d grad norm", i + 1)
                    .isEqualTo(Double.doubleToRawLongBits(want.get(i).gradNorm()));
        }
    }

    static void assertSameWeights(Path want, Path got) throws Exception {
        try (SafeTensors a = SafeTensors.open(Checkpoints.modelFile(want)); SafeTensors b = SafeTensors.open(Checkpoints.modelFile(got));
                NDManager m = NDManager.newBaseManager()) {
            assertThat(b.names()).isEqualTo(a.names());
            for (String n : a.names()) {
                float[] x = a.load(n, m, ScalarType.FLOAT32).toFloatArray();
                float[] y = b.load(n, m, ScalarType.FLOAT32).toFloatArray();
                assertThat(y.length).isEqualTo(x.length);
                for (int i = 0; i < x.length; i++) {
                    if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                        throw new AssertionError(n + "[" + i + "]: " + y[i] + " vs " + x[i]);
                    }
                }
            }
        }
    }
}
