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
                Args a = Args.parse("plot", argv, List.of("run", "out"), List.of());
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
