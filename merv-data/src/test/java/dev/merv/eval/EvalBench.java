package dev.merv.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.build.TinyBackbones;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.synth.SynthDataset;
import dev.merv.infer.MervInference;
import dev.merv.train.Training;
import dev.merv.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Evaluation throughput (questions per second) on the demo's model: merv-tiny finetuned on the synthetic colour
 * dataset (as {@code ./merv demo} trains it, fewer steps), a benchmark of {@code --videos} synthetic videos with
 * {@code --questions} questions each. Rows, all measured in this run on the same machine:
 *
 * <ul>
 *   <li>MCQ, the reference's protocol, one question at a time with every question's video a separate file (the
 *       baseline: nothing shared, as the reference's script runs);
 *   <li>the same with the questions sharing their videos (each video encoded once), then batched (8 per batch);
 *   <li>the likelihood protocol; open-ended questions, one at a time and batched.
 * </ul>
 *
 * <p>Run: {@code ./mvnw -q -o -pl merv-data -am test-compile} then {@code java -cp <test classpath>
 * dev.merv.eval.EvalBench [--videos 6 --questions 4 --steps 60 --max-new-tokens 32 --precision fp32]}; see
 * docs/evaluation.md for the numbers and the command that builds the classpath.
 */
public final class EvalBench {

    private EvalBench() {}

    public static void main(String[] args) throws Exception {
        int videos = 6;
        int perVideo = 4;
        int steps = 60;
        int maxNew = 32;
        Precision precision = Precision.FP32;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--videos" -> videos = Integer.parseInt(args[++i]);
                case "--questions" -> perVideo = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--max-new-tokens" -> maxNew = Integer.parseInt(args[++i]);
                case "--precision" -> precision = Precision.parse(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path root = Files.createTempDirectory("merv-evalbench");
        try {
            Path weights = TinyBackbones.write(root.resolve("weights"), 1);
            Path videollava = root.resolve("data/download/videollava");
            SynthDataset.Manifest data = SynthDataset.generate(SynthDataset.Config.of(videollava, 16, 1));
            TrainingResult run = Training.builder("merv-tiny").stage(Stage.FINETUNE).datasetRoot(root.resolve("data"))
                    .weights(BackboneWeights.root(weights)).runRoot(root.resolve("runs")).runId("bench").maxSteps(steps)
                    .learningRate(3e-3).devices("cpu").loaderThreads(1).console(false).build().run();
            List<Path> clips = new ArrayList<>();
            for (int v = 0; v < videos; v++) {
                clips.add(data.finetuneVideo(v % 16));
            }
            Path shared = benchmark(root.resolve("bench"), "shared", clips, perVideo, false);
            Path separate = benchmark(root.resolve("bench"), "separate", clips, perVideo, true);
            int n = videos * perVideo;
            MervInference.Options opts = MervInference.Options.defaults().withPrecision(precision)
                    .withWeights(BackboneWeights.root(weights));
            System.out.printf(Locale.ROOT, "EvalBench: merv-tiny after %d finetune steps, %d questions (%d videos x %d),"
                    + " max %d new tokens, %s, %d cores%n", steps, n, videos, perVideo, maxNew, precision,
                    Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "%-44s %10s %12s %14s %10s%n", "protocol / setting", "seconds", "questions/s",
                    "media encoded", "vs base");
            McqEval.Options mcq = McqEval.Options.defaults().withMaxNewTokens(maxNew);
            double base = mcqRow("MCQ generate, batch 1, no shared video (base)", separate, root, run.runDir(), opts,
                    mcq.withBatchSize(1), n, 0);
            mcqRow("MCQ generate, batch 1, videos shared", shared, root, run.runDir(), opts, mcq.withBatchSize(1), n, base);
            mcqRow("MCQ generate, batch 8, videos shared", shared, root, run.runDir(), opts, mcq.withBatchSize(8), n, base);
            mcqRow("MCQ likelihood, videos shared", shared, root, run.runDir(), opts,
                    mcq.withProtocol(McqEval.Protocol.LIKELIHOOD), n, base);
            OpenEndedEval.Options oe = OpenEndedEval.Options.defaults().withMaxNewTokens(maxNew);
            oeRow("open-ended, batch 1, videos shared", shared, root, run.runDir(), opts, oe.withBatchSize(1), n, base);
            oeRow("open-ended, batch 8, videos shared", shared, root, run.runDir(), opts, oe.withBatchSize(8), n, base);
        } finally {
            try (Stream<Path> s = Files.walk(root)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static double mcqRow(String label, Path bench, Path root, Path run, MervInference.Options opts,
            McqEval.Options o, int n, double base) throws IOException {
        Path out = Files.createTempDirectory(root, "out");
        try (Models m = Models.load(run, opts, "cpu")) {
            m.get();
            long t0 = System.nanoTime();
            McqEval.run(Benchmark.open(bench, null), out, o, m);
            double s = (System.nanoTime() - t0) / 1e9;
            print(label, s, n, m.get().get(0).mediaEncoded(), base);
            return n / s;
        }
    }

    private static void oeRow(String label, Path bench, Path root, Path run, MervInference.Options opts,
            OpenEndedEval.Options o, int n, double base) throws IOException {
        Path out = Files.createTempDirectory(root, "out");
        try (Models m = Models.load(run, opts, "cpu")) {
            m.get();
            long t0 = System.nanoTime();
            OpenEndedEval.run(Benchmark.open(bench, null), out, o, m);
            double s = (System.nanoTime() - t0) / 1e9;
            print(label, s, n, m.get().get(0).mediaEncoded(), base);
        }
    }

    private static void print(String label, double s, int n, long encoded, double base) {
        double qps = n / s;
        System.out.printf(Locale.ROOT, "%-44s %10.2f %12.2f %14d %10s%n", label, s, qps, encoded,
                base == 0 ? "1.00x" : String.format(Locale.ROOT, "%.2fx", qps / base));
    }

    /**
     * {@code perVideo} colour questions (MCQ options and an open-ended answer) about each clip; {@code separate}: every
     * question gets its own copy of its video, so nothing can be shared.
     */
    private static Path benchmark(Path root, String name, List<Path> clips, int perVideo, boolean separate)
            throws IOException {
        Path dir = Files.createDirectories(root.resolve(name).resolve("videos"));
        JsonArray qs = new JsonArray();
        JsonArray as = new JsonArray();
        String[] asks = {"What colour is the moving shape?", "Which colour is the shape?", "What colour is it?",
            "Name the colour of the shape."};
        for (int v = 0; v < clips.size(); v++) {
            for (int k = 0; k < perVideo; k++) {
                String video = separate ? "v" + v + "_" + k : "v" + v;
                if (!Files.exists(dir.resolve(video + ".mp4"))) {
                    Files.copy(clips.get(v), dir.resolve(video + ".mp4"));
                }
                JsonArray options = new JsonArray();
                for (int c = 0; c < 3; c++) {
                    options.add(SynthDataset.COLOURS[(v + c) % 5]);
                }
                String id = "q" + v + "_" + k;
                qs.add(PyJson.object("video_name", video, "num_option", 3, "question_id", id, "options", options,
                        "question", asks[k % asks.length]));
                as.add(PyJson.object("question_id", id, "answer_id", 0, "answer", SynthDataset.COLOURS[v % 5]));
            }
        }
        Files.writeString(dir.getParent().resolve("test_q.json"), qs.toString());
        Files.writeString(dir.getParent().resolve("test_a.json"), as.toString());
        return dir.getParent();
    }
}
