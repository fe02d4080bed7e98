package dev.merv.examples;

import dev.merv.build.TinyBackbones;
import dev.merv.core.config.ConfigCli;
import dev.merv.core.config.Flags;
import dev.merv.core.config.Stage;
import dev.merv.core.train.StepRecord;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.core.weights.WeightFormatException;
import dev.merv.core.weights.torch.TorchCheckpoint;
import dev.merv.core.weights.torch.TorchCheckpoints;
import dev.merv.data.check.DatasetChecker;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.DecodeClock;
import dev.merv.data.video.VideoWriter;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.eval.McqEval;
import dev.merv.examples.demo.Demo;
import dev.merv.examples.plot.RunPlots;
import dev.merv.infer.MervInference;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.train.Training;
import dev.merv.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The command table of the launcher. Each command parses its flags ({@link Flags}, the one parser of
 * merv) and calls the library; none holds logic of its own.
 */
final class Commands {

    private Commands() {}

    /** A command from its summary, usage, flag names and body; flag errors name {@code ./merv <name>}. */
    private record Simple(String name, String summary, String usage, List<String> flags, List<String> switches,
            Body body) implements Main.Command {
        Simple(String name, String summary, String usage, List<String> flags, Body body) {
            this(name, summary, usage, flags, List.of(), body);
        }

        @Override
        public int run(String[] argv) throws Exception {
            return body.run(Flags.parse(name, argv, flags, switches));
        }
    }

    private static void add(Map<String, Main.Command> c, Simple s) {
        c.put(s.name(), s);
    }

    @FunctionalInterface
    private interface Body {
        int run(Flags f) throws Exception;
    }

    static void register(Map<String, Main.Command> c) {
        add(c, new Simple("generate",
                "Answer a prompt about a video (or image) with a trained run's checkpoint, streaming the answer",
                "--run RUN_DIR --prompt TEXT [--video PATH] [--checkpoint DIR] [--weights_root DIR]"
                        + " [--max_new_tokens 512] [--temperature T (sampling; default greedy)] [--top_p P] [--top_k K] [--seed S]",
                List.of("run", "prompt", "video", "checkpoint", "weights_root", "max_new_tokens", "temperature", "top_p",
                        "top_k", "seed"),
                Commands::generate));
        add(c, new Simple("eval-mcq",
                "Multiple-choice accuracy of a trained run on a benchmark in the reference's format (test_q/test_a.json)",
                "--run RUN_DIR --benchmark DIR [--checkpoint DIR] [--weights_root DIR] [--out DIR]",
                List.of("run", "benchmark", "checkpoint", "weights_root", "out"),
                Commands::evalMcq));
        add(c, new Simple("demo",
                "Generate videos, train merv-tiny on CPU for a few minutes, show held-back accuracy before/after",
                "[--out DIR] [--steps N] [--lr LR] [--videos N] [--heldback N] [--seed S] [--threads N]",
                List.of("out", "steps", "videos", "heldback", "seed", "threads", "lr"),
                Commands::demo));
        c.put("pretrain", new Main.Command() {
            @Override
            public String summary() {
                return "Train MERV (the reference's pretrain_video.py flags; see docs/configuration.md)";
            }

            @Override
            public String usage() {
                return "[--model.type merv-base] [--stage finetune] [--model.<field> v]... [--dataset.dataset_root_dir data]"
                        + " [--weights_root DIR] [--weights.<backbone id> DIR] [--precision bf16|fp32] [--recompute true|false]"
                        + " [--devices auto|cpu|gpu0,gpu1] [--run_id ID] [--resume true|auto]"
                        + " [--checkpoint_failures N]\n\n"
                        + ConfigCli.usage();
            }

            @Override
            public int run(String[] argv) throws Exception {
                Training t = PretrainCommand.parse(argv);
                TrainingResult r = t.run();
                if (!r.steps().isEmpty()) {
                    StepRecord last = r.steps().get(r.steps().size() - 1);
                    System.out.printf(Locale.ROOT, "pretrain: %d steps, last loss %.4f, run %s%n", r.steps().size(),
                            last.loss(), r.runDir());
                }
                return 0;
            }
        });
        add(c, new Simple("tiny-weights",
                "Write merv-tiny's random backbones as HF-layout directories (for trying pretrain/generate offline)",
                "--out DIR [--seed S]", List.of("out", "seed"), f -> {
                    Path out = f.path("out");
                    TinyBackbones.write(out, f.getLong("seed", 0));
                    System.out.println("wrote merv-tiny backbones under " + out + " (use --weights_root " + out + ")");
                    return 0;
                }));
        add(c, new Simple("data synth",
                "Generate a synthetic Video-LLaVA-layout dataset (moving coloured shapes, Q&A, images, text rows)",
                "--out DIR [--videos N] [--seed S] [--faults] [--width W --height H --frames F --fps R]",
                List.of("out", "videos", "seed", "width", "height", "frames", "fps"), List.of("faults"), Commands::synth));
        add(c, new Simple("data check",
                "Scan a dataset and write the report of entries that would be skipped (missing, corrupt, ...)",
                "--root DIR [--stage align|finetune] --json FILE [--frames K] [--threads N] [--timeout-ms T]",
                List.of("root", "stage", "json", "frames", "threads", "timeout_ms"), Commands::check));
        c.put("convert", new Main.Command() {
            @Override
            public String summary() {
                return "Convert a torch.save checkpoint (.pt/.bin, pytorch_model.bin.index.json dir) or re-shard safetensors,"
                        + " reading pickles as data only";
            }

            @Override
            public String usage() {
                return "IN OUT.safetensors [--shard-size SIZE (e.g. 2GB, 500MB; default: one file)]";
            }

            @Override
            public int run(String[] argv) {
                return convert(Flags.parse("convert", argv, List.of("shard_size"), List.of(), List.of("IN", "OUT")));
            }
        });
        add(c, new Simple("plot", "Loss / LR / grad-norm / fusion-weight curves of a run directory as PNG files",
                "--run DIR [--out DIR]", List.of("run", "out"), f -> {
                    Path run = f.path("run");
                    List<Path> files = RunPlots.plotRun(run, f.path("out", run.resolve("plots")));
                    files.forEach(p -> System.out.println("wrote " + p));
                    if (files.isEmpty()) {
                        System.err.println("plot: " + run.resolve("metrics.jsonl") + " holds no plottable metrics yet");
                        return 1;
                    }
                    return 0;
                }));
    }

    private static MervInference.Options inferenceOptions(Flags f) {
        MervInference.Options o = MervInference.Options.defaults();
        if (f.has("weights_root")) {
            o = o.withWeights(BackboneWeights.root(f.path("weights_root")));
        }
        if (f.has("checkpoint")) {
            o = o.withCheckpoint(f.path("checkpoint"));
        }
        return o;
    }

    private static int generate(Flags f) {
        Path run = f.path("run");
        String prompt = f.require("prompt");
        Path video = f.has("video") ? f.path("video") : null;
        try (MervInference model = MervInference.load(run, inferenceOptions(f))) {
            var tok = model.model().llm().text().tokenizer();
            int maxNew = f.getInt("max_new_tokens", 512);
            GenerationConfig cfg = f.has("temperature")
                    ? GenerationConfig.sampling(maxNew, f.getDouble("temperature", 0.4), f.getInt("top_k", 0),
                            f.getDouble("top_p", 1.0), f.getLong("seed", 0), Set.of(tok.eosId()), tok.padId())
                    : model.greedy(maxNew);
            MervInference.Answer a = model.generate(video, prompt, cfg, piece -> {
                System.out.print(piece);
                System.out.flush();
            });
            System.out.println();
            if (a.text().isEmpty()) {
                System.out.println("(empty answer: " + a.finish() + " after " + a.tokens().length + " token(s))");
            }
        }
        return 0;
    }

    private static int evalMcq(Flags f) throws IOException {
        Path run = f.path("run");
        Path bench = f.path("benchmark");
        try (MervInference model = MervInference.load(run, inferenceOptions(f))) {
            Path out = f.path("out", run.resolve("eval").resolve(bench.getFileName().toString()));
            McqEval.Result r = McqEval.run(model.model(), bench, out);
            System.out.printf(Locale.ROOT, "eval-mcq: %s accuracy %.2f%% (%d/%d), predictions in %s%n",
                    bench.getFileName(), 100 * r.accuracy(), r.correct(), r.total(), out.resolve("mcq_results.json"));
        }
        return 0;
    }

    private static int demo(Flags f) throws IOException {
        Demo.Settings d = Demo.Settings.defaults(f.path("out", Path.of("runs/demo")));
        Demo.Settings s = new Demo.Settings(d.out(), f.getInt("videos", d.trainVideos()), f.getInt("heldback", d.heldBack()),
                f.getInt("steps", d.steps()), f.getLong("seed", d.seed()), f.getInt("threads", d.threads()),
                f.getDouble("lr", d.learningRate()));
        System.out.println(Demo.run(s).line());
        return 0;
    }

    private static int synth(Flags f) throws IOException {
        SynthDataset.Config d = SynthDataset.Config.of(f.path("out"), f.getInt("videos", 8), f.getLong("seed", 0));
        SynthDataset.Config c = new SynthDataset.Config(d.out(), d.videos(), d.seed(), f.getInt("width", d.width()),
                f.getInt("height", d.height()), f.getInt("frames", d.frames()), f.getInt("fps", d.fps()),
                f.getBool("faults", false));
        SynthDataset.Manifest m = SynthDataset.generate(c);
        System.out.printf(Locale.ROOT, "wrote %s: %d align rows, %d finetune rows, %d injected faults (encoder %s)%n",
                m.root(), m.alignEntries(), m.finetuneEntries(), m.faults().size(), VideoWriter.encoderName());
        return 0;
    }

    private static int convert(Flags f) {
        Path in = Path.of(f.positional(0));
        Path out = Path.of(f.positional(1));
        TorchCheckpoints.Conversion c;
        try {
            c = TorchCheckpoints.convert(in, out, f.getBytes("shard_size", 0));
        } catch (WeightFormatException e) {
            System.err.println("merv convert: refused: " + e.getMessage());
            return 1;
        }
        for (TorchCheckpoint.Value v : c.skipped()) {
            System.out.println("skipped non-tensor value " + (v.path().isEmpty() ? "(root)" : v.path()) + " = " + v.text()
                    + " (" + v.type() + ")");
        }
        System.out.printf(Locale.ROOT, "convert: %d tensors, %.1f MB -> %s%n", c.tensors(), c.bytes() / 1e6,
                c.written().size() == 1 ? c.written().get(0) : c.written().size() - 1 + " shards + "
                        + c.written().get(c.written().size() - 1));
        return 0;
    }

    private static int check(Flags f) {
        Path root = f.path("root");
        Path json = f.path("json");
        Stage stage = Stage.parse(f.get("stage", "finetune"));
        DatasetChecker.Options d = DatasetChecker.Options.defaults();
        long timeoutMs = f.getLong("timeout_ms", d.decoder().timeoutNanos() / 1_000_000);
        DatasetChecker.Options o = new DatasetChecker.Options(f.getInt("frames", d.frames()), f.getInt("threads", d.threads()),
                d.decoder().withTimeout(timeoutMs * 1_000_000, DecodeClock.SYSTEM));
        try {
            DatasetChecker.Report r = DatasetChecker.check(DatasetRegistry.inVideoLlavaDir(root, stage), o);
            r.write(json);
            System.out.printf(Locale.ROOT, "%s: %d entries, %d usable, %d skipped %s -> %s%n", stage, r.entries(), r.usable(),
                    r.skips().size(), r.skips().countsByReason(), json);
            return 0;
        } catch (IOException | RuntimeException e) {
            System.err.println("merv data check: cannot scan " + root + ": " + e.getMessage());
            return 1;
        }
    }
}
