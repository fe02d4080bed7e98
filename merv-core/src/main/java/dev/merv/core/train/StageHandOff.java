package dev.merv.core.train;

import ai.djl.ndarray.NDManager;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Merv;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ArchSpecifier;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.WeightLoader;
import dev.merv.core.weights.WeightSource;
import dev.merv.core.weights.torch.ReferenceCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a training stage takes over from an earlier one (the reference's {@code load_from_checkpoint}):
 * which top-level modules a fresh run of a stage loads, from which checkpoint, and the load itself.
 *
 * <ul>
 *   <li>{@code no-align} architectures (merv-base, the single-encoder presets) and align stages load
 *       nothing: projectors and fusion start fresh, the LLM from its pretrained weights.
 *   <li>{@code finetune} of a two-stage architecture (merv-full's {@code 3davg+linear}) loads only
 *       {@code projectors}, from {@code --pretrained_checkpoint} or else from the one align run beside this
 *       run ({@link AlignRun}); the LLM and fusion of stage 1 are dropped, as in the reference (W9, kept for
 *       parity; a list of modules given to {@link #resolve} changes it).
 *   <li>{@code second_finetune} loads projectors, LLM and fusion from {@code --pretrained_checkpoint}.
 * </ul>
 *
 * The starting checkpoint is a merv checkpoint directory or a reference {@code .pt} ({@code --pretrained_checkpoint}
 * naming one of the Python reference's checkpoints): its {@code model} dict's modules are read as data
 * ({@link ReferenceCheckpoint}, legacy {@code adapter} / single {@code projector} keys included).
 *
 * Everything is resolved before any weight is read: a missing or ambiguous align run fails first.
 */
public final class StageHandOff {

    /** The starting checkpoint of a run and the modules it provides; {@link #NONE} when nothing is loaded. */
    public record Plan(Path checkpoint, List<String> modules) {
        public static final Plan NONE = new Plan(null, List.of());

        public boolean loadsSomething() {
            return checkpoint != null && !modules.isEmpty();
        }
    }

    private StageHandOff() {}

    /** The modules a fresh run of {@code stage} with architecture {@code arch} loads (the reference's rule). */
    public static List<String> modules(Stage stage, ArchSpecifier arch) {
        if (arch.noAlign() || stage.isAlign()) {
            return List.of();
        }
        return stage == Stage.SECOND_FINETUNE ? List.of("projectors", "llm_backbone", "feature_fusion")
                : List.of("projectors");
    }

    /**
     * The plan for a fresh run: {@code modulesOverride} (null = the reference's {@link #modules}) from
     * {@code pretrainedCheckpoint}, or, for {@code finetune} without one, the align run found beside
     * {@code runDir}. Fails naming what is missing.
     */
    public static Plan resolve(Stage stage, ArchSpecifier arch, Path pretrainedCheckpoint, Path runDir,
            List<String> modulesOverride) {
        List<String> modules = modulesOverride != null ? List.copyOf(modulesOverride) : modules(stage, arch);
        if (modules.isEmpty()) {
            return Plan.NONE;
        }
        Path ckpt;
        if (pretrainedCheckpoint != null) {
            ckpt = pretrainedCheckpoint;
        } else if (stage == Stage.SECOND_FINETUNE) {
            throw new IllegalArgumentException("--stage second_finetune loads " + modules + " from --pretrained_checkpoint,"
                    + " which is not given");
        } else {
            ckpt = AlignRun.findCheckpoint(runDir);
        }
        if (!Files.exists(ckpt)) {
            throw new IllegalArgumentException("starting checkpoint " + ckpt + " does not exist (stage " + stage + " loads "
                    + modules + " from it)");
        }
        if (Files.isDirectory(ckpt) && !Files.exists(Checkpoints.modelFile(ckpt))) {
            throw new IllegalArgumentException("starting checkpoint " + ckpt + " has no " + Checkpoints.modelFile(ckpt)
                    .getFileName() + " (is it a merv checkpoint directory?)");
        }
        if (!Files.isDirectory(ckpt)) {
            // a reference checkpoint (.pt): its model dict must hold every module the stage takes over
            try (ReferenceCheckpoint ref = ReferenceCheckpoint.open(ckpt)) {
                List<String> absent = new ArrayList<>(modules);
                absent.removeAll(ref.modules());
                if (!absent.isEmpty()) {
                    throw new IllegalArgumentException("starting checkpoint " + ckpt + " holds " + ref.modules()
                            + " but stage " + stage + " loads " + modules + " (missing " + absent + ")");
                }
            }
        }
        return new Plan(ckpt, modules);
    }

    /**
     * Loads the plan's modules into {@code merv}: every trainable parameter of those modules must be in the
     * checkpoint with its shape (frozen ones, such as the fusion's unused value path, may be absent).
     */
    public static void load(Merv merv, Plan plan, NDManager manager) {
        if (!plan.loadsSomething()) {
            return;
        }
        boolean reference = !Files.isDirectory(plan.checkpoint());
        Path file = reference ? plan.checkpoint() : Checkpoints.modelFile(plan.checkpoint());
        try (WeightSourceFile st = reference ? new WeightSourceFile(ReferenceCheckpoint.open(file))
                : new WeightSourceFile(SafeTensors.open(file))) {
            Map<String, Param> table = new LinkedHashMap<>();
            List<String> missing = new ArrayList<>();
            for (String module : plan.modules()) {
                for (Map.Entry<String, Param> e : merv.parameters(module).entrySet()) {
                    String name = module + "." + e.getKey();
                    if (st.contains(name)) {
                        table.put(name, e.getValue());
                    } else if (e.getValue().trainable()) {
                        missing.add(name);
                    }
                }
            }
            if (!missing.isEmpty()) {
                throw new IllegalArgumentException(file + " lacks " + missing.size() + " tensor(s) of " + plan.modules()
                        + ": " + missing.subList(0, Math.min(8, missing.size())) + (missing.size() > 8 ? " ..." : ""));
            }
            WeightLoader.load(st, table, manager, null, true, n -> true);
        }
    }

    /** A merv {@code model.safetensors} or a reference {@code .pt} (model dict, merv's names), closed together. */
    private record WeightSourceFile(WeightSource source, AutoCloseable file) implements WeightSource, AutoCloseable {
        WeightSourceFile(SafeTensors st) {
            this(st, st);
        }

        WeightSourceFile(ReferenceCheckpoint ck) {
            this(ck, ck);
        }

        boolean contains(String name) {
            return source.names().contains(name);
        }

        @Override
        public java.util.Set<String> names() {
            return source.names();
        }

        @Override
        public dev.merv.core.weights.TensorInfo info(String name) {
            return source.info(name);
        }

        @Override
        public ai.djl.ndarray.NDArray load(String name, NDManager m, dev.merv.core.torch.ScalarType as) {
            return source.load(name, m, as);
        }

        @Override
        public String describe() {
            return source.describe();
        }

        @Override
        public void close() {
            try {
                file.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + source.describe(), e);
            }
        }
    }
}
