package dev.merv.data.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.merv.core.config.ModelRegistry;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.core.weights.SafeTensors;
import dev.merv.train.TinySetup;
import dev.merv.train.TrainingResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cache build} on merv-tiny's synthetic dataset: on two CPU "devices" it computes every clip once and a
 * second build finds them all without decoding anything; two builds running at once in two processes on one
 * cache leave only complete shards whose every entry loads and is right, and training on that cache decodes
 * nothing and trains bitwise as without a cache.
 */
class CacheBuildTest {

    static CacheBuild.Settings settings(TinySetup tiny, Path cache, String devices) {
        return new CacheBuild.Settings(tiny.videollava(), Stage.FINETUNE, ModelRegistry.get("merv-tiny"), tiny.weights(),
                Precision.FP32, devices, 2, 3, cache, FeatureCache.Options.defaults());
    }

    @Test
    void buildsEveryClipOnceOnEveryDeviceAndASecondBuildDecodesNothing(@TempDir Path tmp) throws Exception {
        TinySetup tiny = TinySetup.get();
        List<CacheBuild.Progress> seen = new ArrayList<>();
        CacheBuild.Report first = CacheBuild.run(settings(tiny, tmp.resolve("cache"), "cpu:2"), seen::add);
        assertThat(first.clips()).isPositive();
        assertThat(first.computed()).isEqualTo(first.clips());
        assertThat(first.cached()).isZero();
        assertThat(first.skipped()).isZero();
        assertThat(first.decodes()).isEqualTo(first.clips());
        assertThat(seen).isNotEmpty();
        assertThat(seen.get(seen.size() - 1).done()).isEqualTo(first.clips());
        // four encoders; LanguageBind's two flip sides
        assertThat(first.cache().entries()).isEqualTo(5 * first.clips());
        CacheBuild.Report second = CacheBuild.run(settings(tiny, tmp.resolve("cache"), "cpu"), p -> { });
        assertThat(second.cached()).isEqualTo(second.clips());
        assertThat(second.computed()).isZero();
        assertThat(second.decodes()).isZero();
    }

    @Test
    void twoBuildsInTwoProcessesAtOnceCorruptNothingAndTrainingFindsEveryClip(@TempDir Path tmp) throws Exception {
        TinySetup tiny = TinySetup.get();
        Path cache = tmp.resolve("cache");
        List<Process> ps = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ps.add(child(tiny.videollava(), tiny.weightsDir(), cache, 20_000));
        }
        for (Process p : ps) {
            assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("cache build: ");
        }
        List<Path> shards;
        try (Stream<Path> s = Files.list(cache.resolve("shards"))) {
            shards = s.toList();
        }
        assertThat(shards).isNotEmpty().allMatch(p -> p.getFileName().toString().endsWith(".safetensors"));
        int entries = 0;
        try (FeatureCache c = FeatureCache.open(cache, FeatureCache.Options.defaults())) {
            for (Path shard : shards) {
                try (SafeTensors st = SafeTensors.open(shard)) {
                    for (String n : st.names()) {
                        if (!n.endsWith("#class_key")) {
                            assertThat(c.get(n)).as(n).isNotNull();
                            entries++;
                        }
                    }
                }
            }
            assertThat(c.stats().damaged()).isZero();
        }
        assertThat(entries).isPositive();
        TrainingResult plain = tiny.training(tmp.resolve("plain")).maxSteps(2).build().run();
        TrainingResult warm = tiny.training(tmp.resolve("warm")).maxSteps(2).featureCache(cache).build().run();
        assertThat(warm.decodes()).isZero();
        assertThat(warm.featureCache().stored()).isZero();
        for (int i = 0; i < plain.steps().size(); i++) {
            assertThat(Double.doubleToRawLongBits(warm.steps().get(i).loss()))
                    .isEqualTo(Double.doubleToRawLongBits(plain.steps().get(i).loss()));
        }
    }

    private static Process child(Path videollava, Path weights, Path cache, long shardBytes) throws Exception {
        String cp = System.getProperty("java.class.path"); // this JVM's own: Maven's test classpath, or the GPU kit's
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return new ProcessBuilder(java.toString(), "-Xmx1g", "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=1",
                "-cp", cp, CacheBuildProcess.class.getName(), videollava.toString(), weights.toString(), cache.toString(),
                Long.toString(shardBytes)).redirectErrorStream(true).start();
    }
}
