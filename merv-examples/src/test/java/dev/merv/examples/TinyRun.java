package dev.merv.examples;

import dev.merv.core.io.FileTrees;
import dev.merv.core.train.StepRecord;
import dev.merv.data.synth.SynthDataset;
import dev.merv.build.TinyBackbones;
import dev.merv.train.Training;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * One short {@code merv-tiny} pretrain run shared by the end-to-end tests of this JVM (training is the
 * slow part): merv-tiny's random backbones as HF-layout directories, an 8-video synthetic dataset, and
 * four finetune steps on the CPU. Built on first use, deleted when the JVM exits. Tests that change a
 * run work on a {@link #copyRunRoot copy}.
 */
record TinyRun(Path root, Path weights, Path data, Path videollava, Path runRoot, Path runDir, Training training,
        List<StepRecord> records) {

    static final String RUN_ID = "e2e";
    static final int STEPS = 4;

    private static TinyRun shared;

    static synchronized TinyRun get() {
        if (shared == null) {
            try {
                shared = create(Files.createTempDirectory("merv-tiny-run"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return shared;
    }

    /** The pretrain command line of this run, plus {@code extra} flags (later ones win). */
    static String[] argv(Path root, Path runRoot, String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("--model.type", "merv-tiny", "--stage", "finetune",
                "--dataset.dataset_root_dir", root.resolve("data").toString(),
                "--weights_root", root.resolve("weights").toString(),
                "--run_root_dir", runRoot.toString(), "--run_id", RUN_ID,
                "--model.finetune_max_steps", Integer.toString(STEPS), "--devices", "cpu", "--seed", "3",
                "--loader_threads", "1"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    private static TinyRun create(Path root) throws IOException {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(root)));
        Path weights = TinyBackbones.write(root.resolve("weights"), 0);
        Path videollava = root.resolve("data/download/videollava");
        SynthDataset.generate(SynthDataset.Config.of(videollava, 8, 1));
        Path runRoot = root.resolve("runs");
        Training training = PretrainCommand.parse(argv(root, runRoot));
        List<StepRecord> records = training.run().steps();
        return new TinyRun(root, weights, root.resolve("data"), videollava, runRoot, training.runDir(), training, records);
    }

    /** A synthetic video of the training set. */
    Path video(int i) {
        return videollava.resolve(String.format(java.util.Locale.ROOT, "videochatgpt_tune/v_synth_%05d.mp4", i));
    }

    /** Copies the run root (all runs) to {@code target}, for tests that continue training. */
    Path copyRunRoot(Path target) throws IOException {
        try (Stream<Path> s = Files.walk(runRoot)) {
            for (Path p : s.toList()) {
                Path t = target.resolve(runRoot.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        return target;
    }

    static void deleteTree(Path root) {
        FileTrees.deleteBestEffort(root);
    }
}
