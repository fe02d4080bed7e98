package dev.merv.llm.lora;

import ai.djl.ndarray.NDArray;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.ConfigException;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.core.weights.WeightLoader;
import dev.merv.llm.llama.LlamaModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * LoRA adapters in PEFT's file layout, the interchange format of HF's {@code peft} library: a directory holding
 * {@code adapter_config.json} ({@code peft_type "LORA"}, {@code r}, {@code lora_alpha}, {@code lora_dropout},
 * {@code target_modules}, {@code use_rslora}, {@code base_model_name_or_path}, ...) and
 * {@code adapter_model.safetensors} with one {@code lora_A} and one {@code lora_B} tensor per adapted layer under
 * {@code base_model.model.<module path>.lora_A.weight} ({@code base_model.model.model.layers.0.self_attn.q_proj
 * .lora_A.weight} for a causal LM).
 *
 * <p>merv writes these files into every checkpoint of a LoRA run ({@link #checkpointFiles}), next to
 * {@code model.safetensors}; {@link #load} mounts the adapters of such a directory on a {@link LlamaModel}, whether
 * merv or Python's PEFT wrote it. Adapters merv cannot reproduce (DoRA, trained biases, per-layer ranks or alphas,
 * fan-in-fan-out layers, extra fully-trained modules) are refused naming the field.
 */
public final class PeftAdapters {

    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    /** PEFT's prefix of the wrapped model's module paths in adapter files. */
    public static final String PREFIX = "base_model.model.";

    private PeftAdapters() {}

    /**
     * Writes {@code dir/adapter_config.json} and {@code dir/adapter_model.safetensors}, each atomically.
     *
     * @param tensors the adapters by their path in the LLM ({@code model.layers.0.self_attn.q_proj.lora_A.weight}),
     *     written in their own dtype
     * @param baseModel what {@code base_model_name_or_path} says: the base LLM's hub repo or directory
     */
    public static void write(Path dir, LoraConfig config, String baseModel, Map<String, NDArray> tensors) {
        Map<String, NDArray> keyed = new TreeMap<>();
        tensors.forEach((n, t) -> keyed.put(PREFIX + n, t));
        try {
            Files.createDirectories(dir);
            SafeTensorsWriter.write(dir.resolve(WEIGHTS), keyed, Map.of("format", "pt"));
            Path tmp = dir.resolve(CONFIG + ".tmp");
            Files.writeString(tmp, new GsonBuilder().setPrettyPrinting().serializeNulls().create()
                    .toJson(configJson(config, baseModel)) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(CONFIG), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the PEFT adapter files in " + dir, e);
        }
    }

    /** Writes {@code lora}'s current values (see {@link #write(Path, LoraConfig, String, Map)}). */
    public static void write(Path dir, Lora lora, String baseModel) {
        Map<String, NDArray> t = new LinkedHashMap<>();
        lora.parameters().forEach((n, p) -> t.put(n, p.get()));
        write(dir, lora.config(), baseModel, t);
    }

    /**
     * What a LoRA run adds to each checkpoint: the LLM's adapters, found among the checkpoint's trainable weights
     * under {@code llmPrefix} (MERV's {@code llm_backbone.llm.}), as PEFT files beside {@code model.safetensors}.
     */
    public static Checkpoints.ExtraFiles checkpointFiles(LoraConfig config, String baseModel, String llmPrefix) {
        return (dir, weights) -> {
            Map<String, NDArray> adapters = new LinkedHashMap<>();
            weights.forEach((name, t) -> {
                if (name.startsWith(llmPrefix) && isAdapterKey(name)) {
                    adapters.put(name.substring(llmPrefix.length()), t);
                }
            });
            if (adapters.isEmpty()) {
                throw new IllegalStateException("a LoRA run's checkpoint has no adapter among its trainable weights under '"
                        + llmPrefix + "'");
            }
            write(dir, config, baseModel, adapters);
        };
    }

    /** {@code adapter_config.json} in PEFT's field names (those of PEFT's own {@code LoraConfig} that merv sets). */
    static JsonObject configJson(LoraConfig c, String baseModel) {
        JsonObject o = new JsonObject();
        o.addProperty("peft_type", "LORA");
        o.addProperty("task_type", "CAUSAL_LM");
        o.addProperty("base_model_name_or_path", baseModel);
        o.add("revision", JsonNull.INSTANCE);
        o.addProperty("r", c.r());
        if (c.alpha() == Math.rint(c.alpha())) {
            o.addProperty("lora_alpha", (long) c.alpha());
        } else {
            o.addProperty("lora_alpha", c.alpha());
        }
        o.addProperty("lora_dropout", c.dropout());
        JsonArray targets = new JsonArray();
        c.targets().forEach(targets::add);
        o.add("target_modules", targets);
        o.addProperty("use_rslora", c.rslora());
        o.addProperty("use_dora", false);
        o.addProperty("bias", "none");
        o.addProperty("fan_in_fan_out", false);
        o.addProperty("init_lora_weights", true);
        o.addProperty("inference_mode", true);
        o.add("modules_to_save", JsonNull.INSTANCE);
        o.add("layers_to_transform", JsonNull.INSTANCE);
        o.add("layers_pattern", JsonNull.INSTANCE);
        o.add("rank_pattern", new JsonObject());
        o.add("alpha_pattern", new JsonObject());
        return o;
    }

    /** Whether {@code dir} holds a PEFT adapter ({@code adapter_config.json}). */
    public static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve(CONFIG));
    }

    /** {@code base_model_name_or_path} of {@code dir}'s adapter, or null when it records none. */
    public static String baseModel(Path dir) {
        JsonObject o = readJson(dir.resolve(CONFIG));
        JsonElement e = o.get("base_model_name_or_path");
        return e == null || e.isJsonNull() ? null : e.getAsString();
    }

    /**
     * The LoRA configuration of {@code dir/adapter_config.json}. Its targets are the layer names of the adapters in
     * {@code adapter_model.safetensors} when that file exists (PEFT also allows a regex or {@code "all-linear"} in
     * {@code target_modules}), else {@code target_modules}. Fails naming the file and field for anything merv does
     * not reproduce.
     */
    public static LoraConfig readConfig(Path dir) {
        Path file = dir.resolve(CONFIG);
        JsonObject o = readJson(file);
        String at = file + ": ";
        String type = string(o, "peft_type", file);
        if (!"LORA".equals(type)) {
            throw new IllegalArgumentException(at + "peft_type is '" + type + "'; merv loads LoRA adapters only");
        }
        refuseIf(o, "use_dora", e -> e.getAsBoolean(), "DoRA adapters (use_dora) are not supported", file);
        refuseIf(o, "fan_in_fan_out", e -> e.getAsBoolean(), "fan_in_fan_out layers (GPT-2 style Conv1D) are not"
                + " supported", file);
        refuseIf(o, "bias", e -> !e.getAsString().equals("none"), "adapters with trained biases (bias != \"none\") are"
                + " not supported", file);
        for (String pattern : List.of("rank_pattern", "alpha_pattern")) {
            refuseIf(o, pattern, e -> !e.isJsonObject() || e.getAsJsonObject().size() > 0, pattern + " (per-layer rank"
                    + " or alpha) is not supported", file);
        }
        refuseIf(o, "modules_to_save", e -> !e.isJsonArray() || e.getAsJsonArray().size() > 0, "modules_to_save"
                + " (fully trained copies of other modules) is not supported", file);
        int r = number(o, "r", file).intValue();
        double alpha = o.has("lora_alpha") ? number(o, "lora_alpha", file).doubleValue() : 8.0;
        double dropout = o.has("lora_dropout") && !o.get("lora_dropout").isJsonNull()
                ? number(o, "lora_dropout", file).doubleValue() : 0.0;
        boolean rslora = o.has("use_rslora") && !o.get("use_rslora").isJsonNull() && o.get("use_rslora").getAsBoolean();
        List<String> targets;
        Path weights = dir.resolve(WEIGHTS);
        if (Files.exists(weights)) {
            try (SafeTensors st = SafeTensors.open(weights)) {
                Set<String> leaves = new LinkedHashSet<>();
                sites(st, weights).keySet().forEach(p -> leaves.add(p.substring(p.lastIndexOf('.') + 1)));
                targets = LoraConfig.TARGETS.stream().filter(leaves::contains).toList();
                List<String> other = leaves.stream().filter(l -> !LoraConfig.TARGETS.contains(l)).toList();
                if (!other.isEmpty()) {
                    throw new IllegalArgumentException(weights + ": adapters on " + other + ", which are no linear layers of"
                            + " merv's decoder; the valid ones are " + LoraConfig.TARGETS);
                }
            }
        } else {
            targets = targetModules(o, file);
        }
        try {
            return new LoraConfig(r, alpha, dropout, targets, rslora);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(at + e.getMessage(), e);
        }
    }

    /**
     * Mounts the adapters of {@code dir} on {@code model} (on exactly the layers its weights file holds adapters
     * for) and loads them in {@code dtype} (null keeps the stored dtype). Every adapted layer needs both factors;
     * shapes are checked before anything is loaded.
     */
    public static Lora load(LlamaModel model, Path dir, ScalarType dtype) {
        LoraConfig config = readConfig(dir);
        Path weights = dir.resolve(WEIGHTS);
        if (!Files.exists(weights)) {
            throw new IllegalArgumentException(dir + " has " + CONFIG + " but no " + WEIGHTS);
        }
        try (SafeTensors st = SafeTensors.open(weights)) {
            Map<String, String[]> sites = sites(st, weights);
            Lora lora = Lora.apply(model, config, sites.keySet());
            Map<String, Param> params = lora.parameters();
            Map<String, Param> table = new LinkedHashMap<>();
            sites.forEach((path, keys) -> {
                table.put(keys[0], params.get(path + "." + Lora.A + ".weight"));
                table.put(keys[1], params.get(path + "." + Lora.B + ".weight"));
            });
            try {
                WeightLoader.load(st, table, model.manager(), dtype);
            } catch (RuntimeException e) {
                lora.remove();
                throw e;
            }
            return lora;
        }
    }

    /**
     * The adapted layers of a PEFT weights file: module path to its {@code [lora_A key, lora_B key]}. Keys are
     * {@code base_model.model.<path>.lora_A.weight}, or with the adapter name ({@code .lora_A.default.weight}) as
     * some PEFT versions write them.
     */
    private static Map<String, String[]> sites(SafeTensors st, Path file) {
        Map<String, String[]> out = new TreeMap<>(PeftAdapters::byModelOrder);
        List<String> strange = new ArrayList<>();
        for (String key : new TreeMap<>(st.tensors()).keySet()) {
            if (!key.startsWith(PREFIX) || !isAdapterKey(key)) {
                strange.add(key);
                continue;
            }
            String rest = key.substring(PREFIX.length());
            int at = rest.contains(".lora_A.") ? rest.indexOf(".lora_A.") : rest.indexOf(".lora_B.");
            String path = rest.substring(0, at);
            int which = rest.startsWith(".lora_A.", at) ? 0 : 1;
            String[] pair = out.computeIfAbsent(path, p -> new String[2]);
            if (pair[which] != null) {
                throw new IllegalArgumentException(file + ": two tensors for " + path + "." + (which == 0 ? Lora.A : Lora.B)
                        + " (" + pair[which] + ", " + key + ")");
            }
            pair[which] = key;
        }
        if (!strange.isEmpty()) {
            throw new IllegalArgumentException(file + ": tensor(s) " + strange.subList(0, Math.min(5, strange.size()))
                    + " are not LoRA factors under '" + PREFIX + "<module>.lora_A.weight' / '.lora_B.weight'");
        }
        out.forEach((path, pair) -> {
            if (pair[0] == null || pair[1] == null) {
                throw new IllegalArgumentException(file + ": " + path + " has " + (pair[0] == null ? "no lora_A" : "no lora_B"));
            }
        });
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no LoRA adapter");
        }
        return out;
    }

    /** Whether a tensor name is a LoRA factor ({@code ...lora_A.weight}, {@code ...lora_B.default.weight}). */
    static boolean isAdapterKey(String name) {
        return name.matches(".*\\.lora_[AB]\\.(default\\.)?weight");
    }

    /** Orders {@code model.layers.10.x} after {@code model.layers.9.y} (numbers compared as numbers). */
    private static int byModelOrder(String a, String b) {
        String[] pa = a.split("\\.");
        String[] pb = b.split("\\.");
        for (int i = 0; i < Math.min(pa.length, pb.length); i++) {
            if (pa[i].equals(pb[i])) {
                continue;
            }
            if (pa[i].matches("\\d+") && pb[i].matches("\\d+")) {
                return Long.compare(Long.parseLong(pa[i]), Long.parseLong(pb[i]));
            }
            return pa[i].compareTo(pb[i]);
        }
        return Integer.compare(pa.length, pb.length);
    }

    private static List<String> targetModules(JsonObject o, Path file) {
        JsonElement e = o.get("target_modules");
        if (e == null || e.isJsonNull()) {
            throw new IllegalArgumentException(file + ": no target_modules and no " + WEIGHTS + " to read them from");
        }
        if (e.isJsonPrimitive()) {
            if (e.getAsString().equals("all-linear")) {
                return LoraConfig.TARGETS;
            }
            throw new IllegalArgumentException(file + ": target_modules '" + e.getAsString() + "' is a pattern; merv reads"
                    + " the adapted layers from " + WEIGHTS + ", which is missing");
        }
        List<String> out = new ArrayList<>();
        e.getAsJsonArray().forEach(x -> out.add(x.getAsString()));
        return out;
    }

    private interface Test {
        boolean bad(JsonElement e);
    }

    private static void refuseIf(JsonObject o, String field, Test test, String why, Path file) {
        JsonElement e = o.get(field);
        if (e != null && !e.isJsonNull() && test.bad(e)) {
            throw new IllegalArgumentException(file + ": " + field + " = " + e + ": " + why);
        }
    }

    private static String string(JsonObject o, String field, Path file) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull() || !e.isJsonPrimitive()) {
            throw new IllegalArgumentException(file + ": field '" + field + "' is missing or not a string");
        }
        return e.getAsString();
    }

    private static Number number(JsonObject o, String field, Path file) {
        JsonElement e = o.get(field);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new IllegalArgumentException(file + ": field '" + field + "' is missing or not a number");
        }
        return e.getAsNumber();
    }

    private static JsonObject readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no PEFT adapter: " + file + " does not exist");
        }
        try {
            JsonElement e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException(file + ": not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (com.google.gson.JsonParseException e) {
            throw new IllegalArgumentException(file + ": not JSON (" + e.getMessage() + ")", e);
        }
    }
}
