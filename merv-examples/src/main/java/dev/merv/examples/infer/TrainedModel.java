package dev.merv.examples.infer;

import ai.djl.ndarray.NDManager;
import dev.merv.core.config.ConfigJson;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.model.Merv;
import dev.merv.core.nn.Param;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.WeightLoader;
import dev.merv.examples.build.BackboneWeights;
import dev.merv.examples.build.ModelFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A MERV model for inference: the configuration a run dumped ({@code <run>/config.json}), backbones
 * from their checkpoints, then the run's trained weights (projectors, fusion, LLM) from its latest
 * checkpoint (or the one given). Loading is strict over the checkpoint's tensors: every tensor it holds
 * must match a model parameter in name and shape.
 */
public final class TrainedModel {

    private TrainedModel() {}

    /**
     * The run's configuration: the trainer writes {@code {"train": ..., "model": <the pretrain config>}};
     * a bare pretrain-config dump is accepted too.
     */
    public static PretrainConfig readRunConfig(Path cfgFile) {
        try {
            com.google.gson.JsonObject root = com.google.gson.JsonParser.parseString(
                    Files.readString(cfgFile, java.nio.charset.StandardCharsets.UTF_8)).getAsJsonObject();
            if (root.has("train") && root.has("model") && root.get("model").isJsonObject()
                    && root.getAsJsonObject("model").has("model")) {
                return ConfigJson.parse(root.get("model").toString());
            }
            return ConfigJson.parse(root.toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("reading " + cfgFile, e);
        }
    }

    public static Merv load(Path runDir, Path checkpoint, BackboneWeights weights, NDManager manager) {
        Path cfgFile = runDir.resolve(dev.merv.examples.train.Pretrain.RUN_CONFIG);
        if (!Files.exists(cfgFile)) {
            throw new IllegalArgumentException(runDir + " has no " + cfgFile.getFileName() + " (is it a merv run directory written by ./merv pretrain?)");
        }
        PretrainConfig cfg = readRunConfig(cfgFile);
        Path ckpt = checkpoint != null ? checkpoint : Checkpoints.latest(runDir);
        if (ckpt == null || !Files.exists(ckpt.resolve("model.safetensors"))) {
            throw new IllegalArgumentException("no checkpoint with model.safetensors in " + runDir.resolve("checkpoints")
                    + (checkpoint != null ? " (given " + checkpoint + ")" : ""));
        }
        Merv merv = ModelFactory.build(cfg.model(), weights, ModelFactory.Precision.FP32, manager, cfg.seed(),
                new Merv.Options().initialize(true));
        try (SafeTensors st = SafeTensors.open(ckpt.resolve("model.safetensors"))) {
            Map<String, Param> all = merv.module().namedParameters();
            Map<String, Param> table = new LinkedHashMap<>();
            for (String n : st.names()) {
                Param p = all.get(n);
                if (p == null) {
                    throw new IllegalArgumentException(ckpt.resolve("model.safetensors") + ": tensor '" + n
                            + "' is no parameter of " + cfg.model().modelId());
                }
                table.put(n, p);
            }
            WeightLoader.load(st, table, manager, null);
        }
        merv.module().setTrainable(false);
        return merv;
    }
}
