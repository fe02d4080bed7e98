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
