package dev.merv.examples.demo;

import dev.merv.build.TinyBackbones;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Merv;
import dev.merv.core.train.StepRecord;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.synth.SynthDataset;
import dev.merv.examples.plot.RunPlots;
import dev.merv.infer.OptionScorer;
import dev.merv.train.Training;
import dev.merv.train.TrainingResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The embedded default: generate a synthetic Video-LLaVA dataset (moving coloured shapes), write
 * {@code merv-tiny}'s random backbones as HF-layout checkpoints, finetune MERV on CPU with the real
 * trainer and data path, and ask held-back videos which colour their shape is, before and after
 * training, by answer likelihood. The last line is machine-readable:
 * {@code demo: accuracy before B% after A% on N held-back questions, loss L0 -> L1, plot PATH}.
 */
public final class Demo {

    /** Demo settings. */
    public record Settings(Path out, int trainVideos, int heldBack, int steps, long seed, int threads, double learningRate) {
        public static Settings defaults(Path out) {
            return new Settings(out, 64, 20, 300, 1, 2, 3e-3);
        }
    }

    /**
     * What the demo measured; {@code plot} is null when this machine cannot draw charts (no fonts).
     * {@code before} / {@code after}: each held-back question's candidate scores (summed log-probabilities) by the
     * model before and after training, from which the accuracies are computed.
     */
    public record Result(double accuracyBefore, double accuracyAfter, int questions, double firstLoss, double lastLoss,
            Path plot, Scored before, Scored after) {
        public String line() {
            return String.format(Locale.ROOT, "demo: accuracy before %.0f%% after %.0f%% on %d held-back questions, loss %.3f -> %.3f, plot %s",
                    100 * accuracyBefore, 100 * accuracyAfter, questions, firstLoss, lastLoss,
                    plot == null ? "none (fonts unavailable)" : plot);
        }
    }

    /** One model's answers to the held-back questions: per question the candidates' scores and the chosen index. */
    public record Scored(float[][] scores, int[] chosen, int right) {
        public double accuracy() {
            return chosen.length == 0 ? 0 : right / (double) chosen.length;
        }
    }

    private Demo() {}

    public static Result run(Settings s) throws IOException {
        Path out = s.out().toAbsolutePath();
        Path data = out.resolve("data");
        Path videollava = data.resolve("download/videollava");
        Path heldBack = out.resolve("heldback");
        Path weights = out.resolve("weights");
        Files.createDirectories(out);
        long t0 = System.nanoTime();
        System.out.printf(Locale.ROOT, "demo: generating %d training videos and %d held-back videos under %s%n",
                s.trainVideos(), s.heldBack(), out);
        if (!Files.exists(videollava.resolve("videochatgpt_llavaimage_tune.json"))) {
            SynthDataset.generate(SynthDataset.Config.of(videollava, s.trainVideos(), s.seed()));
        }
        SynthDataset.Manifest held = SynthDataset.generate(SynthDataset.Config.of(heldBack, s.heldBack(), s.seed() + 1000));
        List<OptionScorer.Question> questions = heldBackQuestions(held.root());
        System.out.println("demo: writing merv-tiny's random backbones (HF layout) under " + weights);
        TinyBackbones.write(weights, s.seed());

        Scored[] scored = new Scored[2];
        TrainingResult result = Training.builder("merv-tiny")
                .stage(Stage.FINETUNE)
                .datasetRoot(data)
                .weights(BackboneWeights.root(weights))
                .runRoot(out.resolve("runs")).runId("demo")
                .maxSteps(s.steps()).warmupRatio(0.05).learningRate(s.learningRate())
                .seed((int) s.seed()).devices("cpu").saveEvery(s.steps())
                .loaderThreads(s.threads())
                .beforeTraining(merv -> scored[0] = score(merv, questions, held.root(), out.resolve("eval-before"), "before"))
                .afterTraining(merv -> scored[1] = score(merv, questions, held.root(), out.resolve("eval-after"), "after"))
                .build()
                .run();
        List<Double> steps = new ArrayList<>();
        List<Double> losses = new ArrayList<>();
        for (StepRecord r : result.steps()) {
            if (Double.isFinite(r.loss())) {
                steps.add((double) r.step());
                losses.add(r.loss());
            }
        }
        Path plot = out.resolve("loss.png");
        try {
            RunPlots.lossPlot(steps, losses, "merv-tiny finetune loss (synthetic videos)", plot);
        } catch (RunPlots.PlotUnavailableException e) {
            System.err.println("demo: no loss plot: " + e.getMessage());
            plot = null;
        }
        System.out.printf(Locale.ROOT, "demo: trained %d steps in %.0f s (run dir %s)%n", result.steps().size(),
                (System.nanoTime() - t0) / 1e9, result.runDir());
        return new Result(scored[0].accuracy(), scored[1].accuracy(), questions.size(), result.meanLossOfFirst(10),
                result.meanLossOfLast(10), plot, scored[0], scored[1]);
    }

    /** One colour question per held-back video, the five colours as candidates. */
    static List<OptionScorer.Question> heldBackQuestions(Path root) throws IOException {
        List<OptionScorer.Question> qs = new ArrayList<>();
        var rows = com.google.gson.JsonParser.parseString(Files.readString(root.resolve("videochatgpt_llavaimage_tune.json")))
                .getAsJsonArray();
        for (var e : rows) {
            var o = e.getAsJsonObject();
            if (!o.has("video")) {
                continue;
            }
            var conv = o.getAsJsonArray("conversations");
            String question = conv.get(0).getAsJsonObject().get("value").getAsString();
            String answer = conv.get(1).getAsJsonObject().get("value").getAsString();
            int idx = Arrays.asList(SynthDataset.COLOURS).indexOf(answer);
            if (idx >= 0) {
                qs.add(new OptionScorer.Question(o.get("video").getAsString(), false, question, List.of(SynthDataset.COLOURS), idx));
            }
        }
        return qs;
    }

    static Scored score(Merv merv, List<OptionScorer.Question> qs, Path mediaRoot, Path work, String when) {
        try {
            float[][] scores = OptionScorer.scoreEach(merv, qs, mediaRoot, work, merv.config().llmMaxLength());
            int[] chosen = new int[qs.size()];
            int ok = 0;
            for (int i = 0; i < qs.size(); i++) {
                chosen[i] = OptionScorer.best(scores[i]);
                if (chosen[i] == qs.get(i).answer()) {
                    ok++;
                }
            }
            Scored s = new Scored(scores, chosen, ok);
            System.out.printf(Locale.ROOT, "demo: %s training, %d/%d held-back colour questions right (%.0f%%)%n", when, ok,
                    qs.size(), 100 * s.accuracy());
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
