package dev.merv.core.weights.torch;

import ai.djl.ndarray.NDArray;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.merv.core.weights.SafeTensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A MERV run in the Python reference's layout, for the reference to load: {@code config.json} and
 * {@code checkpoints/latest-checkpoint.pt}, a torch.save file holding
 * {@code {"model": {"projectors": {...}, "feature_fusion": {...}, "llm_backbone": {...}}}}, each module
 * a state dict with the module's prefix removed ({@code projectors} holds
 * {@code 0.projector.projector.weight}, ...).
 */
public final class ReferenceRun {

    /** The module names the reference saves, in its order. */
    public static final List<String> MODULES = List.of("projectors", "feature_fusion", "llm_backbone");

    /** Where the checkpoint lies inside a run directory. */
    public static final String CHECKPOINT = "checkpoints/latest-checkpoint.pt";

    private ReferenceRun() {}

    /**
     * Groups flat names ({@code projectors.0.projector.projector.weight}) by module, removing the
     * module prefix; a name outside {@link #MODULES} is an error that names it.
     */
    public static Map<String, Map<String, NDArray>> byModule(Map<String, NDArray> flat) {
        Map<String, Map<String, NDArray>> out = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : flat.entrySet()) {
            int dot = e.getKey().indexOf('.');
            String module = dot < 0 ? e.getKey() : e.getKey().substring(0, dot);
            if (dot < 0 || !MODULES.contains(module)) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' belongs to none of " + MODULES);
            }
            out.computeIfAbsent(module, k -> new LinkedHashMap<>()).put(e.getKey().substring(dot + 1), e.getValue());
        }
        Map<String, Map<String, NDArray>> ordered = new LinkedHashMap<>();
        for (String m : MODULES) {
            if (out.containsKey(m)) {
                ordered.put(m, out.get(m));
            }
        }
        return ordered;
    }

    /**
     * Writes {@code runDir/config.json} ({@code config} as given) and {@code runDir/}{@value #CHECKPOINT}
     * ({@code modules}: module name to its state dict, names without the module prefix). Both files are
     * written to temporary names first and renamed only when both are complete.
     */
    public static void write(Path runDir, JsonObject config, Map<String, Map<String, NDArray>> modules) {
        for (String m : modules.keySet()) {
            if (!MODULES.contains(m)) {
                throw new IllegalArgumentException("module '" + m + "' is not one the reference saves " + MODULES);
            }
        }
        Map<String, Object> model = new LinkedHashMap<>();
        for (String m : MODULES) {
            if (modules.containsKey(m)) {
                model.put(m, new LinkedHashMap<String, Object>(modules.get(m)));
            }
        }
        Path ckpt = runDir.resolve(CHECKPOINT);
        Path cfg = runDir.resolve("config.json");
        Path ckptTmp = null;
        Path cfgTmp = null;
        try {
            ckptTmp = SafeTensorsWriter.createTemp(ckpt);
            TorchSaveWriter.write(ckptTmp, Map.of("model", model), "latest-checkpoint");
            cfgTmp = SafeTensorsWriter.createTemp(cfg);
            Files.writeString(cfgTmp, new GsonBuilder().setPrettyPrinting().create().toJson(config), StandardCharsets.UTF_8);
            SafeTensorsWriter.commit(ckptTmp, ckpt);
            ckptTmp = null;
            SafeTensorsWriter.commit(cfgTmp, cfg);
            cfgTmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("writing the reference run " + runDir, e);
        } finally {
            deleteQuietly(ckptTmp);
            deleteQuietly(cfgTmp);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // the original failure is what the caller needs to see
            }
        }
    }
}
