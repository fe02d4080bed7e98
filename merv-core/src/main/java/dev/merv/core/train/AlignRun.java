package dev.merv.core.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Where a finetune run finds its align-stage weights when none are given (docs/reference.md §1.4). */
public final class AlignRun {

    private AlignRun() {}

    /**
     * The reference's rule for finding the align checkpoint when finetuning without
     * {@code --pretrained_checkpoint} (docs/reference.md §1.4, step 3): split the current run directory's name on
     * {@code +} into exactly four parts {@code (a, b, _, seed)}, find the sibling directories whose
     * names start with {@code a+b} and end with {@code +stage-align+seed}; exactly one must exist; its
     * {@code checkpoints/latest-checkpoint.pt} is the file (only its {@code projectors} are loaded); for
 * an align run written by this trainer, the checkpoint directory its {@code checkpoints/latest} names.
     * A {@code full-align} run does not match the pattern (W9, kept for parity; pass the checkpoint
     * explicitly to use one). Errors name the directory and what was found.
     */
    public static Path findCheckpoint(Path runDir) {
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
