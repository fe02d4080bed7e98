package dev.merv.infer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.merv.core.config.ConfigException;
import dev.merv.core.config.ConfigJson;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.TensorInfo;
import dev.merv.core.weights.WeightSource;
import dev.merv.core.weights.torch.ReferenceCheckpoint;
import dev.merv.core.weights.torch.ReferenceRun;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A run directory inference can load, in either layout:
 *
 * <ul>
 *   <li>merv's: {@code config.json} (the full run configuration) and {@code checkpoints/<step>/model.safetensors},
 *       the newest named by {@code checkpoints/latest};
 *   <li>the Python reference's (its released runs, or {@code ./merv export}): {@code config.json} and
 *       {@code checkpoints/latest-checkpoint.pt}. As the reference's loader does, only the {@code model} entry
 *       of {@code config.json} is read, taken as a {@code merv-base} configuration with the stored values (its
 *       {@code type} and {@code vidlm_id} dropped); the checkpoint is read as data only.
 * </ul>
 *
 * @param model the model configuration
 * @param seed the run's seed (the reference's default 7 when a reference config has none)
 * @param checkpoint the weights file: a {@code model.safetensors} or a reference {@code .pt}
 */
public record RunDirectory(Path dir, Layout layout, ModelConfig model, long seed, Path checkpoint) {

    /** Which program wrote the run. */
    public enum Layout { MERV, REFERENCE }

    /** A run's trained weights under merv's parameter names ({@code projectors.*}, {@code feature_fusion.*}, ...). */
    public interface Weights extends WeightSource, AutoCloseable {
        /** The top-level modules the file holds. */
        Set<String> modules();

        @Override
        void close();
    }

    /**
     * Finds the run's layout, configuration and checkpoint; {@code checkpoint} null = the newest, else a merv
     * checkpoint directory or a reference {@code .pt} file. Nothing is loaded; fails naming what is missing.
     */
    public static RunDirectory open(Path dir, Path checkpoint) {
        Path config = dir.resolve("config.json");
        if (!Files.exists(config)) {
            throw new IllegalArgumentException(dir + " has no config.json (is it a run directory written by merv's"
                    + " training or by the reference?)");
        }
        Layout layout;
        Path weights;
        if (checkpoint != null) {
            if (Files.isRegularFile(checkpoint)) {
                layout = Layout.REFERENCE;
                weights = checkpoint;
            } else if (Files.isDirectory(checkpoint)) {
                layout = Layout.MERV;
                weights = Checkpoints.modelFile(checkpoint);
                if (!Files.exists(weights)) {
                    throw new IllegalArgumentException("checkpoint " + checkpoint + " has no " + weights.getFileName());
                }
            } else {
                throw new IllegalArgumentException("checkpoint " + checkpoint + " does not exist");
            }
        } else if (Files.exists(dir.resolve("checkpoints").resolve("latest"))) {
            layout = Layout.MERV;
            weights = Checkpoints.modelFile(Checkpoints.latest(dir));
            if (!Files.exists(weights)) {
                throw new IllegalArgumentException("checkpoint " + weights.getParent() + " has no " + weights.getFileName());
            }
        } else if (Files.exists(dir.resolve(ReferenceRun.CHECKPOINT))) {
            layout = Layout.REFERENCE;
            weights = dir.resolve(ReferenceRun.CHECKPOINT);
        } else {
            throw new IllegalArgumentException(dir + " holds no checkpoint: neither checkpoints/latest (a merv run) nor "
                    + ReferenceRun.CHECKPOINT + " (a reference run)");
        }
        if (layout == Layout.MERV) {
            PretrainConfig c = ConfigJson.read(config);
            return new RunDirectory(dir, layout, c.model(), c.seed(), weights);
        }
        JsonObject json = readJson(config);
        long seed = json.has("seed") && json.get("seed").isJsonPrimitive() ? json.get("seed").getAsLong() : 7;
        return new RunDirectory(dir, layout, referenceModel(json, config), seed, weights);
    }

    /**
     * The reference's reading of a run's {@code config.json}: its {@code model} entry without {@code type} and
     * {@code vidlm_id}, every stored value set on {@code merv-base}; a field {@link ModelConfig} does not have is
     * an error naming it (the reference's config class refuses it too).
     */
    public static ModelConfig referenceModel(JsonObject config, Path file) {
        JsonElement m = config.get("model");
        if (m == null || !m.isJsonObject()) {
            throw new IllegalArgumentException(file + ": no 'model' object (a reference run's config.json holds the model"
                    + " configuration under 'model')");
        }
        JsonObject stored = m.getAsJsonObject().deepCopy();
        stored.remove("type");
        stored.remove("vidlm_id");
        JsonObject base = JsonParser.parseString(ConfigJson.dump(ModelRegistry.get(ModelRegistry.MERV_BASE)))
                .getAsJsonObject();
        for (String k : stored.keySet()) {
            if (!base.has(k)) {
                throw new IllegalArgumentException(file + ": model." + k + " is no field of the model configuration");
            }
            base.add(k, stored.get(k));
        }
        try {
            return ConfigJson.parseModel(base.toString());
        } catch (ConfigException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    private static JsonObject readJson(Path f) {
        try {
            return JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(f + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    /** Opens the checkpoint (headers only; tensors are read when loaded). */
    public Weights openWeights() {
        if (layout == Layout.REFERENCE) {
            ReferenceCheckpoint ck = ReferenceCheckpoint.open(checkpoint);
            return weights(ck, ck.modules(), ck::close);
        }
        SafeTensors st = SafeTensors.open(checkpoint);
        Set<String> modules = new LinkedHashSet<>();
        for (String n : st.names()) {
            int dot = n.indexOf('.');
            modules.add(dot < 0 ? n : n.substring(0, dot));
        }
        return weights(st, modules, st::close);
    }

    /** Either checkpoint layout as {@link Weights}: its tensors, its top-level modules and how to close it. */
    private static Weights weights(WeightSource source, Set<String> modules, Runnable close) {
        return new Weights() {
            @Override
            public Set<String> modules() {
                return modules;
            }

            @Override
            public Set<String> names() {
                return source.names();
            }

            @Override
            public TensorInfo info(String name) {
                return source.info(name);
            }

            @Override
            public NDArray load(String name, NDManager manager, ScalarType as) {
                return source.load(name, manager, as);
            }

            @Override
            public String describe() {
                return source.describe();
            }

            @Override
            public void close() {
                close.run();
            }
        };
    }
}
