package dev.merv.train;

import dev.merv.core.io.FileTrees;
import dev.merv.build.TinyBackbones;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.synth.SynthDataset;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * merv-tiny's random backbones (HF layout) and a small synthetic Video-LLaVA dataset, written once per JVM
 * for the library tests and deleted at exit.
 */
public record TinySetup(Path root, Path weightsDir, Path dataRoot, Path videollava) {

    private static TinySetup shared;

    public static synchronized TinySetup get() {
        if (shared == null) {
            try {
                Path root = Files.createTempDirectory("merv-tiny-lib");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(root)));
                Path weights = TinyBackbones.write(root.resolve("weights"), 0);
                Path videollava = root.resolve("data/download/videollava");
                SynthDataset.generate(SynthDataset.Config.of(videollava, 8, 1));
                shared = new TinySetup(root, weights, root.resolve("data"), videollava);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return shared;
    }

    public BackboneWeights weights() {
        return BackboneWeights.root(weightsDir);
    }

    /** A merv-tiny run on this setup's data and weights, on the CPU, quiet. */
    public Training.Builder training(Path runRoot) {
        return Training.builder("merv-tiny").datasetRoot(dataRoot).weights(weights()).runRoot(runRoot).devices("cpu")
                .seed(3).loaderThreads(1).console(false);
    }

    /** A synthetic video of the training set. */
    public Path video(int i) {
        return videollava.resolve(String.format(java.util.Locale.ROOT, "videochatgpt_tune/v_synth_%05d.mp4", i));
    }

    static void delete(Path root) {
        FileTrees.deleteBestEffort(root);
    }
}
