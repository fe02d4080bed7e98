package dev.merv.examples;

import dev.merv.core.config.ConfigCli;
import dev.merv.core.config.Flags;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.model.Precision;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.batch.MervBatchSource;
import dev.merv.data.cache.FeatureCache;
import dev.merv.train.Training;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./merv pretrain}: the reference's {@code pretrain_video.py} flags as they are (reference flag names,
 * bracket lists), plus merv's own flags for where weights are ({@code --weights_root DIR},
 * {@code --weights.<backbone id> DIR}) and how to run ({@code --precision bf16|fp32}, {@code --recompute},
 * {@code --loader_threads N}, {@code --stop_after_steps N}, {@code --lengths tokens|words},
 * {@code --checkpoint_failures N}, {@code --feature_cache DIR}, {@code --feature_cache_max_gb G}) and LoRA on the
 * LLM ({@code --lora.r 128 --lora.alpha 256 [--lora.dropout P] [--lora.targets [q_proj,...]] [--lora.rslora true]},
 * {@link LoraConfig}). It only parses: {@link Training} does the rest.
 */
final class PretrainCommand {

    /** Flags handled here rather than by the reference-compatible config parser. */
    static final Set<String> OWN = Set.of("weights_root", "precision", "recompute", "loader_threads", "stop_after_steps",
            "lengths", "checkpoint_failures", "feature_cache", "feature_cache_max_gb");

    private PretrainCommand() {}

    /** Parses (and validates) a pretrain command line without touching any weights or data. */
    static Training parse(String... argv) {
        List<String> rest = new ArrayList<>();
        Map<String, String> own = new LinkedHashMap<>();
        Map<String, Path> perBackbone = new LinkedHashMap<>();
        Map<String, String> lora = new LinkedHashMap<>();
        for (Flags.Flag f : Flags.split(argv)) {
            if (f.name().startsWith("lora.")) {
                lora.put(f.name().substring("lora.".length()), f.value());
            } else if (f.name().startsWith("weights.")) {
                perBackbone.put(f.name().substring("weights.".length()), Path.of(f.value()));
            } else if (OWN.contains(f.name())) {
                own.put(f.name(), f.value());
            } else {
                rest.add("--" + f.name());
                rest.add(f.value());
            }
        }
        PretrainConfig cfg = ConfigCli.parse(rest.toArray(String[]::new));
        Flags o = Flags.parse("pretrain", ownArgs(own), OWN);
        BackboneWeights weights = new BackboneWeights(o.has("weights_root") ? o.path("weights_root") : null,
                explicitWeights(cfg.model(), perBackbone));
        Training.Builder b = Training.builder(cfg).weights(weights);
        if (!lora.isEmpty()) {
            b.lora(LoraConfig.fromFlags(lora));
        }
        if (o.has("loader_threads")) {
            b.loaderThreads(o.getInt("loader_threads", 0));
        }
        if (o.has("stop_after_steps")) {
            b.stopAfterSteps(o.getLong("stop_after_steps", 0));
        }
        if (o.has("checkpoint_failures")) {
            b.checkpointFailures(o.getInt("checkpoint_failures", 0));
        }
        if (o.has("lengths")) {
            b.lengths(MervBatchSource.Lengths.valueOf(o.get("lengths", null).toUpperCase(Locale.ROOT)));
        }
        if (o.has("precision")) {
            b.precision(Precision.parse(o.get("precision", null)));
        }
        if (o.has("recompute")) {
            b.recompute(o.getBool("recompute", true));
        }
        if (o.has("feature_cache")) {
            FeatureCache.Options c = FeatureCache.Options.defaults();
            if (o.has("feature_cache_max_gb")) {
                c = c.withMaxGb(o.getDouble("feature_cache_max_gb", 0));
            }
            b.featureCache(o.path("feature_cache"), c);
        } else if (o.has("feature_cache_max_gb")) {
            throw new IllegalArgumentException("--feature_cache_max_gb needs --feature_cache DIR");
        }
        return b.build();
    }

    private static String[] ownArgs(Map<String, String> own) {
        List<String> a = new ArrayList<>();
        own.forEach((k, v) -> {
            a.add("--" + k);
            a.add(v);
        });
        return a.toArray(String[]::new);
    }

    /**
     * {@code --weights.<id> DIR}: the flag splitter reads dashes in names as underscores (draccus style), but
     * backbone ids are dashed, so each name is matched against the model's ids under the same normalisation.
     */
    static Map<String, Path> explicitWeights(ModelConfig m, Map<String, Path> perBackbone) {
        List<String> ids = new ArrayList<>(m.videoBackboneIds());
        ids.add(m.llmBackboneId());
        Map<String, Path> explicit = new LinkedHashMap<>();
        for (Map.Entry<String, Path> e : perBackbone.entrySet()) {
            String id = ids.stream().filter(x -> Flags.normalise(x).equals(e.getKey())).findFirst().orElseThrow(() ->
                    new IllegalArgumentException("--weights." + e.getKey().replace('_', '-') + " names no backbone of this"
                            + " model (encoders " + m.videoBackboneIds() + ", llm " + m.llmBackboneId() + ")"));
            explicit.put(id, e.getValue());
        }
        return explicit;
    }
}
