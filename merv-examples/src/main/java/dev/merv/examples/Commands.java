package dev.merv.examples;

import dev.merv.examples.cli.Args;
import dev.merv.examples.plot.RunPlots;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The command table of the launcher. */
final class Commands {

    private Commands() {}

    static void register(Map<String, Main.Command> c) {
        c.put("generate", new Main.Command() {
            @Override
            public String summary() {
                return "Answer a prompt about a video (or image) with a trained run's checkpoint, streaming the answer";
            }

            @Override
            public String usage() {
                return "--run RUN_DIR --prompt TEXT [--video PATH] [--checkpoint DIR] [--weights_root DIR]"
                        + " [--max_new_tokens 512] [--temperature T (sampling; default greedy)] [--top_p P] [--top_k K] [--seed S]";
            }

            @Override
            public int run(String[] argv) throws Exception {
                Args a = Args.parse("generate", argv, List.of("run", "prompt", "video", "checkpoint", "weights_root",
                        "max_new_tokens", "temperature", "top_p", "top_k", "seed"));
                Path run = Path.of(a.require("generate", "run"));
                String prompt = a.require("generate", "prompt");
                var weights = new dev.merv.examples.build.BackboneWeights(
                        a.has("weights_root") ? Path.of(a.get("weights_root", "")) : null, Map.of());
                try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                    var merv = dev.merv.examples.infer.TrainedModel.load(run,
                            a.has("checkpoint") ? Path.of(a.get("checkpoint", "")) : null, weights, m);
                    var tok = merv.llm().text().tokenizer();
                    var cfg = a.has("temperature")
                            ? dev.merv.llm.generate.GenerationConfig.sampling(a.getInt("max_new_tokens", 512),
                                    Double.parseDouble(a.get("temperature", "0.4")), a.getInt("top_k", 0),
                                    Double.parseDouble(a.get("top_p", "1.0")), a.getInt("seed", 0), java.util.Set.of(tok.eosId()),
                                    tok.padId())
                            : dev.merv.examples.infer.Generate.greedy(merv, a.getInt("max_new_tokens", 512));
                    int[] printed = {0};
                    String answer = dev.merv.examples.infer.Generate.answer(merv, a.has("video") ? Path.of(a.get("video", "")) : null,
                            prompt, cfg, text -> {
                                System.out.print(text.substring(Math.min(printed[0], text.length())));
                                System.out.flush();
                                printed[0] = text.length();
                            });
                    System.out.println();
                    if (printed[0] == 0) {
                        System.out.println(answer);
                    }
                }
                return 0;
            }
        });
        c.put("eval-mcq", new Main.Command() {
            @Override
            public String summary() {
                return "Multiple-choice accuracy of a trained run on a benchmark in the reference's format (test_q/test_a.json)";
            }

            @Override
            public String usage() {
                return "--run RUN_DIR --benchmark DIR [--checkpoint DIR] [--weights_root DIR] [--out DIR]";
            }

            @Override
            public int run(String[] argv) throws Exception {
                Args a = Args.parse("eval-mcq", argv, List.of("run", "benchmark", "checkpoint", "weights_root", "out"));
                Path run = Path.of(a.require("eval-mcq", "run"));
                Path bench = Path.of(a.require("eval-mcq", "benchmark"));
                var weights = new dev.merv.examples.build.BackboneWeights(
                        a.has("weights_root") ? Path.of(a.get("weights_root", "")) : null, Map.of());
                try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                    var merv = dev.merv.examples.infer.TrainedModel.load(run,
                            a.has("checkpoint") ? Path.of(a.get("checkpoint", "")) : null, weights, m);
                    Path out = Path.of(a.get("out", run.resolve("eval").resolve(bench.getFileName().toString()).toString()));
                    var r = dev.merv.examples.infer.McqEval.run(merv, bench, out);
                    System.out.printf(java.util.Locale.ROOT, "eval-mcq: %s accuracy %.2f%% (%d/%d), predictions in %s%n",
                            bench.getFileName(), 100 * r.accuracy(), r.correct(), r.total(), out.resolve("mcq_results.json"));
                }
                return 0;
            }
        });
        c.put("demo", new Main.Command() {
            @Override
            public String summary() {
                return "Generate videos, train merv-tiny on CPU for a few minutes, show held-back accuracy before/after";
            }

            @Override
            public String usage() {
                return "[--out DIR] [--steps N] [--lr LR] [--videos N] [--heldback N] [--seed S] [--threads N]";
            }

            @Override
            public int run(String[] argv) throws Exception {
                Args a = Args.parse("demo", argv, List.of("out", "steps", "videos", "heldback", "seed", "threads", "lr"));
                var d = dev.merv.examples.demo.Demo.Settings.defaults(Path.of(a.get("out", "runs/demo")));
                var s = new dev.merv.examples.demo.Demo.Settings(d.out(), a.getInt("videos", d.trainVideos()),
                        a.getInt("heldback", d.heldBack()), a.getInt("steps", d.steps()), a.getInt("seed", (int) d.seed()),
                        a.getInt("threads", d.threads()), Double.parseDouble(a.get("lr", Double.toString(d.learningRate()))));
                var r = dev.merv.examples.demo.Demo.run(s);
                System.out.println(r.line());
                return 0;
            }
        });
        c.put("pretrain", new Main.Command() {
            @Override
            public String summary() {
                return "Train MERV (the reference's pretrain_video.py flags; see docs/configuration.md)";
            }

            @Override
            public String usage() {
                return "[--model.type merv-base] [--stage finetune] [--model.<field> v]... [--dataset.dataset_root_dir data]"
                        + " [--weights_root DIR] [--weights.<backbone id> DIR] [--precision bf16|fp32] [--recompute true|false]"
                        + " [--devices auto|cpu|gpu0,gpu1] [--run_id ID] [--resume true]\n\n" + dev.merv.core.config.ConfigCli.usage();
            }

            @Override
            public int run(String[] argv) throws Exception {
                var inv = dev.merv.examples.train.Pretrain.parse(argv);
                var records = dev.merv.examples.train.Pretrain.run(inv);
                if (!records.isEmpty()) {
                    var last = records.get(records.size() - 1);
                    System.out.printf(java.util.Locale.ROOT, "pretrain: %d steps, last loss %.4f, run %s%n", records.size(),
                            last.loss(), inv.config().runDir());
                }
                return 0;
            }
        });
        c.put("tiny-weights", new Main.Command() {
            @Override
            public String summary() {
                return "Write merv-tiny's random backbones as HF-layout directories (for trying pretrain/generate offline)";
            }

            @Override
            public String usage() {
                return "--out DIR [--seed S]";
            }

            @Override
            public int run(String[] argv) {
                Args a = Args.parse("tiny-weights", argv, List.of("out", "seed"));
                Path out = Path.of(a.require("tiny-weights", "out"));
                dev.merv.examples.build.TinyWeights.ensure(out, a.getInt("seed", 0));
                System.out.println("wrote merv-tiny backbones under " + out + " (use --weights_root " + out + ")");
                return 0;
            }
        });
        c.put("data synth", new Main.Command() {
            @Override
            public String summary() {
                return "Generate a synthetic Video-LLaVA-layout dataset (moving coloured shapes, Q&A, images, text rows)";
            }

            @Override
            public String usage() {
                return "--out DIR [--videos N] [--seed S] [--faults] [--width W --height H --frames F --fps R]";
            }

            @Override
            public int run(String[] argv) throws Exception {
                dev.merv.data.synth.SynthDataset.main(argv);
                return 0;
            }
        });
        c.put("data check", new Main.Command() {
            @Override
            public String summary() {
                return "Scan a dataset and write the report of entries that would be skipped (missing, corrupt, ...)";
            }

            @Override
            public String usage() {
                return "--root DIR [--stage align|finetune] --json FILE [--frames K] [--threads N] [--timeout-ms T]";
            }

            @Override
            public int run(String[] argv) {
                return dev.merv.data.check.DatasetChecker.run(argv);
            }
        });
        c.put("data bench", new dev.merv.examples.data.DataBenchCommand());
        c.put("plot", new Main.Command() {
            @Override
            public String summary() {
                return "Loss / LR / grad-norm / fusion-weight curves of a run directory as PNG files";
            }

            @Override
            public String usage() {
                return "--run DIR [--out DIR]";
            }

            @Override
            public int run(String[] argv) throws Exception {
                Args a = Args.parse("plot", argv, List.of("run", "out"));
                Path run = Path.of(a.require("plot", "run"));
                Path out = Path.of(a.get("out", run.resolve("plots").toString()));
                List<Path> files = RunPlots.plotRun(run, out);
                files.forEach(f -> System.out.println("wrote " + f));
                if (files.isEmpty()) {
                    System.err.println("plot: " + run.resolve("metrics.jsonl") + " holds no plottable metrics yet");
                    return 1;
                }
                return 0;
            }
        });
    }
}
