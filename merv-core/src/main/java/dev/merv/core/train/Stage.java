package dev.merv.core.train;

import dev.merv.core.nn.Param;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The reference's training stages (merv-reference.md §1.4): which top-level modules train and which
 * hyper-parameter family ({@code align_*} or {@code finetune_*}) the run uses. Encoders are always
 * frozen. {@code full-finetune} is accepted by the reference's parser but not implemented; here it
 * fails at parse time with the same message.
 */
public enum Stage {
    ALIGN("align", List.of("projectors", "feature_fusion")),
    FULL_ALIGN("full-align", List.of("projectors", "feature_fusion", "llm_backbone")),
    FINETUNE("finetune", List.of("projectors", "feature_fusion", "llm_backbone")),
    /**
     * Intended as a second instruction stage loading projectors, LLM and fusion from
     * {@code --pretrained_checkpoint}. The reference's dataset factory has no entry for it (W10); the
     * freezing here is the reference's, the data side is the loader's business.
     */
    SECOND_FINETUNE("second_finetune", List.of("projectors", "feature_fusion", "llm_backbone"));

    private final String id;
    private final List<String> trainable;

    Stage(String id, List<String> trainable) {
        this.id = id;
        this.trainable = trainable;
    }

    /** The reference's stage name, e.g. {@code full-align}. */
    public String id() {
        return id;
    }

    /** Top-level MERV module names (state-dict prefixes) that train in this stage. */
    public List<String> trainableModules() {
        return trainable;
    }

    /** {@code align} or {@code finetune}: which family of hyper-parameters the stage copies into the run. */
    public String hyperParameterFamily() {
        return id.endsWith("align") ? "align" : "finetune";
    }

    /** Whether the video-frame sampler of this stage is the split-modality one (stage name contains "finetune"). */
    public boolean usesSplitModalitySampler() {
        return id.contains("finetune");
    }

    /** Metric prefix as the reference writes it: the stage name with its first letter capitalised. */
    public String metricPrefix() {
        return Character.toUpperCase(id.charAt(0)) + id.substring(1);
    }

    /**
     * The freezing hook: marks every parameter whose dotted name starts with a trainable module
     * ({@code projectors.}, {@code feature_fusion.}, {@code llm_backbone.}) trainable and the rest
     * frozen. Returns the number of trainable parameters.
     */
    public long applyFreezing(Map<String, Param> params) {
        long n = 0;
        for (Map.Entry<String, Param> e : params.entrySet()) {
            boolean t = trains(e.getKey());
            e.getValue().setTrainable(t);
            if (t) {
                n += e.getValue().numel();
            }
        }
        return n;
    }

    /** Whether the parameter called {@code name} trains in this stage. */
    public boolean trains(String name) {
        for (String m : trainable) {
            if (name.equals(m) || name.startsWith(m + ".")) {
                return true;
            }
        }
        return false;
    }

    public static Stage parse(String s) {
        String k = s.trim().toLowerCase(Locale.ROOT);
        if (k.equals("full-finetune")) {
            throw new IllegalArgumentException("--stage full-finetune is not implemented (as in the reference)");
        }
        for (Stage st : values()) {
            if (st.id.equals(k)) {
                return st;
            }
        }
        throw new IllegalArgumentException("--stage: unknown stage '" + s + "' (align, full-align, finetune, second_finetune)");
    }

    /**
     * The reference's rule for finding the align checkpoint when finetuning without
     * {@code --pretrained_checkpoint} (§1.4, step 3): split the current run directory's name on
     * {@code +} into exactly four parts {@code (a, b, _, seed)}, find the sibling directories whose
     * names start with {@code a+b} and end with {@code +stage-align+seed}; exactly one must exist; its
     * {@code checkpoints/latest-checkpoint.pt} is the file (only its {@code projectors} are loaded); for
 * an align run written by this trainer, the checkpoint directory its {@code checkpoints/latest} names.
     * A {@code full-align} run does not match the pattern (W9, kept for parity; pass the checkpoint
     * explicitly to use one). Errors name the directory and what was found.
     */
    public static Path findAlignCheckpoint(Path runDir) {
        String name = runDir.getFileName().toString();
        String[] parts = name.split("\\+", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("cannot discover the align run for '" + name + "': the run id must have"
                    + " exactly four '+'-separated parts (dataset+model+stage-...+seed), got " + parts.length
                    + "; pass --pretrained_checkpoint instead");
        }
        String prefix = parts[0] + "+" + parts[1];
        String suffix = "+stage-align+" + parts[3];
        Path root = runDir.toAbsolutePath().getParent();
        List<Path> matches;
        try (Stream<Path> s = Files.list(root)) {
            matches = s.filter(Files::isDirectory)
                    .filter(p -> {
                        String n = p.getFileName().toString();
                        return n.startsWith(prefix) && n.endsWith(suffix);
                    })
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list run root " + root, e);
        }
        if (matches.size() != 1) {
            throw new IllegalStateException("expected exactly one align run '" + prefix + "*" + suffix + "' in " + root
                    + ", found " + matches.size() + ": " + matches);
        }
        Path align = matches.get(0);
        // a run written by this trainer names its newest checkpoint directory in checkpoints/latest
        if (Files.exists(align.resolve("checkpoints").resolve(Checkpoints.LATEST))) {
            return Checkpoints.latest(align);
        }
        return align.resolve("checkpoints").resolve("latest-checkpoint.pt");
    }
}
