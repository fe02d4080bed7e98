package dev.merv.export;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.build.MervModels;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.config.ConfigJson;
import dev.merv.core.config.PretrainConfig;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.nn.Param;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.core.weights.torch.ReferenceRun;
import dev.merv.infer.MervInference;
import dev.merv.infer.RunDirectory;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.train.Training;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A merv run written in the Python reference's layout ({@link ReferenceRun}: {@code config.json} +
 * {@code checkpoints/latest-checkpoint.pt}), so the reference's {@code load_vid} and evaluation scripts can load a
 * merv-trained model.
 *
 * <ul>
 *   <li>{@code config.json}: merv's run configuration (already the reference's draccus layout); the model entry keeps
 *       only fields the reference's config class has: merv's {@code fusion_embed_dim} is dropped when it is the
 *       reference's fixed 3072, and kept otherwise (merv reads it back; the reference cannot build such a fusion).
 *   <li>the checkpoint: {@code model -> projectors / feature_fusion / llm_backbone} from the run's checkpoint, in its
 *       stored dtype (fp32). The fusion's unused value path (W8) is frozen in merv and not saved; the reference loads
 *       the fusion strictly, so those tensors are added with the values training started from (merv draws the
 *       projectors and the fusion as the reference does, seeded by encoder 0's width), computed from the model's
 *       shapes without reading any backbone weight.
 * </ul>
 */
public final class ReferenceExport {

    /**
     * What was written.
     *
     * @param tensors per module, how many tensors
     * @param added the fusion tensors the run's checkpoint did not hold (W8), taken from the initial draw
     * @param notes what the reference cannot load of this run (backbones it does not know, a fusion width it fixes)
     */
    public record Result(Path dir, Path checkpoint, Map<String, Integer> tensors, List<String> added, List<String> notes) {}

    private ReferenceExport() {}

    /**
     * Exports {@code runDir}'s checkpoint ({@code checkpoint} null = its latest) to {@code out}. Backbone configurations
     * (for the shapes only) are found through {@code weights} (null = the run's recorded {@code weights.json}, else the
     * HF cache). Both files are written under temporary names and renamed when complete.
     */
    public static Result export(Path runDir, Path checkpoint, Path out, BackboneWeights weights) {
        return export(runDir, checkpoint, out, weights, false);
    }

    /**
     * As {@link #export(Path, Path, Path, BackboneWeights)}; a LoRA run (the reference has no adapters) exports only
     * with {@code mergeLora}: its adapters are folded into the pretrained LLM ({@code W + scaling * B A} in fp32)
     * and {@code llm_backbone} holds the merged weights.
     */
    public static Result export(Path runDir, Path checkpoint, Path out, BackboneWeights weights, boolean mergeLora) {
        RunDirectory run = RunDirectory.open(runDir, checkpoint);
        if (run.layout() != RunDirectory.Layout.MERV) {
            throw new IllegalArgumentException(runDir + " is already in the reference's layout (" + run.checkpoint() + ")");
        }
        if (Files.exists(out.resolve(ReferenceRun.CHECKPOINT))) {
            throw new IllegalArgumentException(out + " already holds " + ReferenceRun.CHECKPOINT + "; choose an empty --out");
        }
        PretrainConfig cfg = ConfigJson.read(runDir.resolve("config.json"));
        BackboneWeights w = weights != null ? weights : Training.recordedWeights(runDir);
        if (w == null) {
            w = BackboneWeights.hfCache();
        }
        List<String> notes = new ArrayList<>();
        JsonObject config = JsonParser.parseString(ConfigJson.dump(cfg)).getAsJsonObject();
        JsonObject model = config.getAsJsonObject("model");
        JsonElement fusionDim = model.remove("fusion_embed_dim");
        if (fusionDim != null && fusionDim.getAsInt() != 3072) {
            model.add("fusion_embed_dim", fusionDim);
            notes.add("model.fusion_embed_dim is " + fusionDim + ": the reference's fusion is fixed at 3072 and its config"
                    + " has no such field (merv reads this export back)");
        }
        for (String id : cfg.model().videoBackboneIds()) {
            Catalog.findEncoder(id).filter(e -> e.hub() == null).ifPresent(e -> notes.add("encoder " + id
                    + " exists only in merv (no hub checkpoint the reference can download)"));
        }
        Catalog.findLlm(cfg.model().llmBackboneId()).filter(e -> e.hub() == null).ifPresent(e -> notes.add("LLM "
                + e.id() + " exists only in merv"));

        Map<String, Map<String, NDArray>> modules;
        List<String> added = new ArrayList<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        try (RunDirectory.Weights trained = run.openWeights(); NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> flat = new LinkedHashMap<>();
            for (String n : trained.names()) {
                flat.put(n, trained.load(n, m, null));
            }
            if (flat.keySet().stream().anyMatch(n -> n.contains(".lora_A.") || n.contains(".lora_B."))) {
                if (!mergeLora) {
                    throw new IllegalArgumentException(trained.describe() + " holds LoRA adapters, which the reference cannot"
                            + " load; export with --merge-lora to fold them into the LLM's weights");
                }
                flat.keySet().removeIf(n -> n.startsWith("llm_backbone."));
                MervInference.Options o = MervInference.Options.defaults().withPrecision(Precision.FP32).withWeights(w);
                try (MervInference merged = MervInference.load(runDir, checkpoint == null ? o : o.withCheckpoint(checkpoint))) {
                    int layers = merged.mergeLora();
                    for (Map.Entry<String, Param> e : merged.model().parameters("llm_backbone").entrySet()) {
                        NDArray c = dev.merv.core.torch.Torch.copy(e.getValue().get(), dev.merv.core.torch.ScalarType.FLOAT32);
                        c.attach(m);
                        flat.put("llm_backbone." + e.getKey(), c);
                    }
                    notes.add("LoRA adapters of " + layers + " layers merged into llm_backbone");
                }
            }
            modules = ReferenceRun.byModule(flat);
            Merv initial = skeleton(cfg, w, m);
            Map<String, Param> fusion = initial.parameters("feature_fusion");
            Map<String, NDArray> savedFusion = modules.computeIfAbsent("feature_fusion", k -> new LinkedHashMap<>());
            for (Map.Entry<String, Param> e : fusion.entrySet()) {
                if (!savedFusion.containsKey(e.getKey())) {
                    if (!initial.fusion().unusedParameters().contains(e.getKey())) {
                        throw new IllegalArgumentException(trained.describe() + " lacks the trained fusion tensor "
                                + e.getKey());
                    }
                    savedFusion.put(e.getKey(), e.getValue().get());
                    added.add("feature_fusion." + e.getKey());
                }
            }
            if (savedFusion.isEmpty()) {
                modules.remove("feature_fusion");
            }
            Map<String, Map<String, NDArray>> ordered = new LinkedHashMap<>();
            for (String mod : ReferenceRun.MODULES) {
                if (modules.containsKey(mod)) {
                    ordered.put(mod, modules.get(mod));
                    counts.put(mod, modules.get(mod).size());
                }
            }
            if (!ordered.containsKey("llm_backbone")) {
                notes.add("the checkpoint holds no llm_backbone (an align stage): the reference loads it only as the"
                        + " start of a finetune, not with load_vid");
            }
            ReferenceRun.write(out, config, ordered);
        }
        return new Result(out, out.resolve(ReferenceRun.CHECKPOINT), counts, added, notes);
    }

    /**
     * The model's projectors and fusion as training first drew them (the reference's seed and order), on encoders and
     * an LLM built from their configurations only: no weight file is read.
     */
    static Merv skeleton(PretrainConfig cfg, BackboneWeights weights, NDManager manager) {
        List<VideoEncoder> encoders = new ArrayList<>(MervModels.encoderShapes(cfg.model(), weights));
        String llmId = cfg.model().llmBackboneId();
        Path llmDir = null;
        try {
            llmDir = MervModels.llmDir(llmId, weights);
        } catch (IllegalArgumentException e) {
            // the catalog's architecture is enough for the width the projectors need
        }
        LlamaModel llm = MervModels.emptyLlm(llmId, llmDir, null, manager);
        return new Merv(cfg.model(), encoders, llm, manager, new Merv.Options().bosTokenLength(1));
    }
}
