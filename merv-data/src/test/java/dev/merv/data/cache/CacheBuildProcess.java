package dev.merv.data.cache;

import dev.merv.core.config.ModelRegistry;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.core.weights.BackboneWeights;
import java.nio.file.Path;

/**
 * One {@code cache build} of merv-tiny in a process of its own, for {@link CacheBuildTest}:
 * {@code VIDEOLLAVA_DIR WEIGHTS_ROOT CACHE_DIR SHARD_BYTES}.
 */
public final class CacheBuildProcess {

    public static void main(String[] args) throws Exception {
        CacheBuild.Settings s = new CacheBuild.Settings(Path.of(args[0]), Stage.FINETUNE, ModelRegistry.get("merv-tiny"),
                BackboneWeights.root(Path.of(args[1])), Precision.FP32, "cpu", 1, 2, Path.of(args[2]),
                FeatureCache.Options.defaults().withShardBytes(Long.parseLong(args[3])));
        System.out.println(CacheBuild.run(s, p -> { }).line());
    }
}
