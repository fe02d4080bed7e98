package dev.merv.examples;

import dev.merv.build.MervModels;
import dev.merv.build.TinyBackbones;
import dev.merv.core.io.FileTrees;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.config.ConfigCli;
import dev.merv.core.config.ConfigValidator;
import dev.merv.core.config.Flags;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.train.Devices;
import dev.merv.core.train.StepRecord;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.core.weights.WeightFormatException;
import dev.merv.core.weights.torch.TorchCheckpoint;
import dev.merv.core.weights.torch.TorchCheckpoints;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.bench.DataBench;
import dev.merv.data.check.DatasetChecker;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.ClipWindow;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.video.VideoWriter;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.eval.Benchmark;
import dev.merv.eval.Judge;
import dev.merv.eval.McqEval;
import dev.merv.eval.Models;
import dev.merv.eval.OpenEndedEval;
import dev.merv.examples.demo.Demo;
import dev.merv.examples.plot.RunPlots;
import dev.merv.export.ReferenceExport;
import dev.merv.infer.MediaInputs;
import dev.merv.infer.MervInference;
import dev.merv.llm.BundledTokenizers;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.train.Training;
import dev.merv.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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

    /**
     * A command that also takes {@code --weights.<backbone id> DIR} (one per backbone, like {@code pretrain}); the other
     * flags are parsed as {@link Simple}'s.
     */
    private record WithWeights(String name, String summary, String usage, List<String> flags, WeightsBody body)
            implements Main.Command {
        @Override
        public int run(String[] argv) throws Exception {
            Map<String, Path> weights = new LinkedHashMap<>();
            List<String> rest = new ArrayList<>();
            for (Flags.Flag f : Flags.split(argv)) {
                if (f.name().startsWith("weights.")) {
                    weights.put(backboneId(f.name().substring("weights.".length())), Path.of(f.value()));
                } else {
                    rest.add(f.bare() ? "--" + f.name() : "--" + f.name() + "=" + f.value());
                }
            }
            return body.run(Flags.parse(name, rest.toArray(String[]::new), flags), weights);
        }
    }

    @FunctionalInterface
    private interface WeightsBody {
        int run(Flags f, Map<String, Path> weights) throws Exception;
    }

    /** The catalog id a {@code --weights.<id>} flag names (the flag parser reads its dashes as underscores). */
    private static String backboneId(String normalised) {
        List<String> ids = new ArrayList<>();
        Catalog.encoders().forEach(e -> ids.add(e.id()));
        Catalog.llms().forEach(e -> ids.add(e.id()));
        return ids.stream().filter(id -> Flags.normalise(id).equals(normalised)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("--weights." + normalised.replace('_', '-') + " names no backbone id of the"
                        + " catalog (docs/weights.md lists them)"));
    }

    private static void add(Map<String, Main.Command> c, Simple s) {
        c.put(s.name(), s);
    }

    @FunctionalInterface
    private interface Body {
        int run(Flags f) throws Exception;
    }

    static void register(Map<String, Main.Command> c) {
        c.put("generate", new WithWeights("generate",
                "Answer a prompt about a video (or image, or folder of frames) with a trained run (merv's or the"
                        + " reference's layout), streaming the answer",
                "--run RUN_DIR --prompt TEXT [--video PATH] [--start S --end E (seconds)] [--end_frame N]"
                        + " [--checkpoint DIR|FILE.pt] [--weights_root DIR] [--weights.<backbone id> DIR]"
                        + " [--precision bf16|fp16|fp32 (default: the reference's, bf16; fp16 for Qwen)]"
                        + " [--no_media zero_video|text_only] [--max_new_tokens 512]"
                        + " [--temperature T (sampling; default greedy)] [--top_p P] [--top_k K] [--seed S]",
                List.of("run", "prompt", "video", "start", "end", "end_frame", "checkpoint", "weights_root", "precision",
                        "no_media", "max_new_tokens", "temperature", "top_p", "top_k", "seed"),
                Commands::generate));
        c.put("eval-mcq", new WithWeights("eval-mcq",
                "Multiple-choice evaluation as the reference's eval_mcq.py (generate, first character; or --protocol"
                        + " likelihood) on a benchmark in its layout (test_q/test_a.json, videos/)",
                "--run RUN_DIR --benchmark DIR [--eval_dataset NAME (default: DIR's name; *_token* adds <video>)]"
                        + " [--out DIR (default RUN_DIR/eval_result)] [--protocol generate|likelihood]"
                        + " [--num_chunks N --chunk_idx K] [--batch_size 8] [--max_new_tokens 512]"
                        + " [--end_frame honour|ignore] [--devices " + Devices.GRAMMAR.replace(" ", "") + "]" + EVAL_MODEL_FLAGS,
                evalFlags(List.of("protocol", "end_frame")), Commands::evalMcq));
        c.put("eval-openended", new WithWeights("eval-openended",
                "Open-ended evaluation as the reference's eval_openended.py (MSVD-QA, MSRVTT-QA, TGIF-QA, ActivityNet-QA);"
                        + " judge the answers with eval-judge",
                "--run RUN_DIR --benchmark DIR [--eval_dataset NAME] [--out DIR (default RUN_DIR/eval_result)]"
                        + " [--num_chunks N --chunk_idx K] [--batch_size 8] [--max_new_tokens 512]"
                        + " [--devices " + Devices.GRAMMAR.replace(" ", "") + "]" + EVAL_MODEL_FLAGS,
                evalFlags(List.of()), Commands::evalOpenEnded));
        c.put("eval-judge", new Main.Command() {
            @Override
            public String summary() {
                return "The open-ended judge offline: 'prepare' writes the OpenAI batch-API request file, 'collect' scores"
                        + " the downloaded replies (merv never calls the network)";
            }

            @Override
            public String usage() {
                return "prepare --pred <eval_dataset>_pred_merge.jsonl [--out FILE] [--judge-model " + Judge.DEFAULT_MODEL
                        + "]\n   or: ./merv eval-judge collect --pred <eval_dataset>_pred_merge.jsonl --replies"
                        + " BATCH_OUTPUT.jsonl[,MORE.jsonl] [--out <eval_dataset>_gpt.json]";
            }

            @Override
            public int run(String[] argv) {
                return judge(Flags.parse("eval-judge", argv, List.of("pred", "out", "judge_model", "replies"), List.of(),
                        List.of("STEP")));
            }
        });
        c.put("export", new WithWeights("export",
                "Write a merv run in the reference's layout (config.json + checkpoints/latest-checkpoint.pt) for the"
                        + " Python reference to load",
                "--run RUN_DIR --out DIR [--checkpoint DIR] [--weights_root DIR] [--weights.<backbone id> DIR]"
                        + " [--merge-lora true (a LoRA run: fold its adapters into the LLM)]",
                List.of("run", "out", "checkpoint", "weights_root", "merge_lora"), Commands::export));
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
                        + " [--devices " + dev.merv.core.train.Devices.GRAMMAR.replace(" ", "") + "] [--run_id ID]"
                        + " [--resume true|auto] [--checkpoint_failures N]"
                        + " [--lora.r R --lora.alpha A [--lora.dropout P] [--lora.targets [q_proj,...]] [--lora.rslora true]]"
                        + " [--feature_cache DIR [--feature_cache_max_gb G]]"
                        + "\n\n" + ConfigCli.usage();
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
                "--root DIR [--stage align|finetune] --json FILE [--frames K] [--threads N] [--timeout-ms T (per video, CPU time of"
                        + " the decoding thread)]",
                List.of("root", "stage", "json", "frames", "threads", "timeout_ms"), Commands::check));
        c.put("data bench", new Main.Command() {
            @Override
            public String summary() {
                return "Time the data path on your files: one video's decode (--video) or the whole loader (--root), per core";
            }

            @Override
            public String usage() {
                return "--video FILE [--frames 32] [--threads 1 (decoder threads)] [--runs 5]\n"
                        + "   or: --root DIR [--stage finetune|align] [--model.type merv-base] [--model.<field> v]... [--samples 64]"
                        + " [--threads N (loader threads)] [--batch 4] [--weights_root DIR (the LLM's tokenizer; default: bundled"
                        + " Llama-2)]";
            }

            @Override
            public int run(String[] argv) throws Exception {
                return dataBench(argv);
            }
        });
        c.put("cache build", new Main.Command() {
            @Override
            public String summary() {
                return "Precompute the frozen encoders' features of a dataset into a feature cache, on every device given";
            }

            @Override
            public String usage() {
                return "--root DIR --feature_cache DIR [--stage finetune|align] [--model.type merv-base] [--model.<field> v]..."
                        + " [--weights_root DIR] [--weights.<backbone id> DIR] [--precision bf16|fp32 (default: the model's"
                        + " mixed-precision setting)] [--devices " + dev.merv.core.train.Devices.GRAMMAR.replace(" ", "")
                        + "] [--threads N (loader threads)] [--batch 8 (clips per device step)] [--feature_cache_max_gb G]";
            }

            @Override
            public int run(String[] argv) throws Exception {
                return cacheBuild(argv);
            }
        });
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

    private static final String EVAL_MODEL_FLAGS = " [--checkpoint DIR|FILE.pt] [--weights_root DIR]"
            + " [--weights.<backbone id> DIR] [--precision bf16|fp16|fp32] [--no_media zero_video|text_only]"
            + " [--frame_dir_fps 3] [--filename_question test_q] [--filename_answer test_a]";

    private static List<String> evalFlags(List<String> extra) {
        List<String> f = new ArrayList<>(List.of("run", "benchmark", "eval_dataset", "out", "num_chunks", "chunk_idx",
                "batch_size", "max_new_tokens", "devices", "checkpoint", "weights_root", "precision", "no_media",
                "frame_dir_fps", "filename_question", "filename_answer"));
        f.addAll(extra);
        return f;
    }

    /** An enum-valued flag ({@code --protocol likelihood}); a value that is none of them names the choices. */
    private static <E extends Enum<E>> E choice(Flags f, String flag, String fallback, Class<E> type) {
        String v = f.get(flag, fallback);
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(v)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT));
        }
        throw new IllegalArgumentException("--" + flag + " " + v + ": expected one of " + String.join(", ", names));
    }

    /** Where the run's backbones are and how it runs, from the flags all inference commands share. */
    private static MervInference.Options inferenceOptions(Flags f, Map<String, Path> weights) {
        MervInference.Options o = MervInference.Options.defaults();
        if (f.has("weights_root")) {
            o = o.withWeights(BackboneWeights.root(f.path("weights_root")));
        }
        for (Map.Entry<String, Path> e : weights.entrySet()) {
            o = o.withWeight(e.getKey(), e.getValue());
        }
        if (f.has("checkpoint")) {
            o = o.withCheckpoint(f.path("checkpoint"));
        }
        if (f.has("precision")) {
            o = o.withPrecision(Precision.parse(f.get("precision", null)));
        }
        if (f.has("no_media")) {
            o = o.withNoMedia(choice(f, "no_media", null, MervInference.NoMedia.class));
        }
        if (f.has("frame_dir_fps")) {
            o = o.withMedia(new MediaInputs.Options(f.getDouble("frame_dir_fps", 3)));
        }
        return o;
    }

    private static int generate(Flags f, Map<String, Path> weights) {
        Path run = f.path("run");
        String prompt = f.require("prompt");
        Path video = f.has("video") ? f.path("video") : null;
        ClipWindow window = new ClipWindow(f.has("start") ? f.getDouble("start", 0) : null,
                f.has("end") ? f.getDouble("end", 0) : null, f.has("end_frame") ? f.getInt("end_frame", -1) : null);
        try (MervInference model = MervInference.load(run, inferenceOptions(f, weights))) {
            int maxNew = f.getInt("max_new_tokens", 512);
            GenerationConfig cfg = f.has("temperature")
                    ? GenerationConfig.sampling(maxNew, f.getDouble("temperature", 0.4), f.getInt("top_k", 0),
                            f.getDouble("top_p", 1.0), f.getLong("seed", 0), model.stopTokens(),
                            model.model().llm().text().tokenizer().padId())
                    : model.greedy(maxNew);
            MervInference.Answer a = model.generate(new MervInference.Query(video, prompt, window), cfg, piece -> {
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

    private static Benchmark benchmark(Flags f) {
        return Benchmark.open(f.path("benchmark"), f.get("eval_dataset", null), new Benchmark.FileNames(
                f.get("filename_question", "test_q"), f.get("filename_answer", "test_a")));
    }

    private static int evalMcq(Flags f, Map<String, Path> weights) {
        Path run = f.path("run");
        Benchmark b = benchmark(f);
        Path out = f.path("out", run.resolve("eval_result"));
        McqEval.Options d = McqEval.Options.defaults();
        McqEval.Options o = new McqEval.Options(
                choice(f, "protocol", "generate", McqEval.Protocol.class),
                f.getInt("num_chunks", d.numChunks()), f.getInt("chunk_idx", d.chunkIdx()),
                f.getInt("batch_size", d.batchSize()), f.getInt("max_new_tokens", d.maxNewTokens()),
                choice(f, "end_frame", "honour", McqEval.EndFrame.class));
        McqEval.Result r;
        try (Models models = Models.load(run, inferenceOptions(f, weights), f.get("devices", "auto"))) {
            r = McqEval.run(b, out, o, models);
        }
        System.out.printf(Locale.ROOT, "eval-mcq: %s chunk %d of %d: %d questions, %d answered now, %d resumed%n", b.name(),
                o.chunkIdx(), o.numChunks(), r.chunkQuestions(), r.answered(), r.chunkQuestions() - r.answered());
        if (r.scores().isEmpty()) {
            System.out.println("eval-mcq: waiting for the other chunks; the last one to finish merges and scores");
            return 0;
        }
        McqEval.Scores s = r.scores().get();
        System.out.printf(Locale.ROOT, "eval-mcq: %s accuracy %.2f%% (yes %d, no %d), predictions in %s, %s%n", b.name(),
                100 * s.accuracy(), s.yes(), s.no(), s.merge(), s.gpt());
        if (s.nextQa() != null) {
            StringBuilder sb = new StringBuilder("eval-mcq: NExT-QA breakdown");
            s.nextQa().groups().forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.2f%%", k, 100 * v)));
            System.out.println(sb);
        }
        return 0;
    }

    private static int evalOpenEnded(Flags f, Map<String, Path> weights) {
        Path run = f.path("run");
        Benchmark b = benchmark(f);
        Path out = f.path("out", run.resolve("eval_result"));
        OpenEndedEval.Options d = OpenEndedEval.Options.defaults();
        OpenEndedEval.Options o = new OpenEndedEval.Options(f.getInt("num_chunks", d.numChunks()),
                f.getInt("chunk_idx", d.chunkIdx()), f.getInt("batch_size", d.batchSize()),
                f.getInt("max_new_tokens", d.maxNewTokens()));
        OpenEndedEval.Result r;
        try (Models models = Models.load(run, inferenceOptions(f, weights), f.get("devices", "auto"))) {
            r = OpenEndedEval.run(b, out, o, models);
        }
        System.out.printf(Locale.ROOT, "eval-openended: %s chunk %d of %d: %d questions, %d answered now%n", b.name(),
                o.chunkIdx(), o.numChunks(), r.chunkQuestions(), r.answered());
        if (!r.failed().isEmpty()) {
            System.err.println("eval-openended: " + r.failed().size() + " question(s) left out (unreadable media): "
                    + r.failed() + "; fix them and rerun this chunk");
        }
        if (r.merge().isPresent()) {
            System.out.println("eval-openended: predictions in " + r.merge().get() + "; judge them with ./merv eval-judge"
                    + " prepare --pred " + r.merge().get());
        } else {
            System.out.println("eval-openended: waiting for the other chunks; the last one to finish merges");
        }
        return r.failed().isEmpty() ? 0 : 1;
    }

    private static int judge(Flags f) {
        String step = f.positional(0);
        Path pred = f.path("pred");
        String bench = Judge.benchmarkOf(pred);
        switch (step) {
            case "prepare" -> {
                Path out = f.path("out", pred.resolveSibling(bench + "_gpt_batch_input.jsonl"));
                Judge.Prepared p = Judge.prepare(pred, out, f.get("judge_model", Judge.DEFAULT_MODEL));
                System.out.printf(Locale.ROOT, "eval-judge: %d requests in %s%n", p.requests(), p.files());
                System.out.println("eval-judge: submit to OpenAI's batch API (endpoint /v1/chat/completions), download the"
                        + " output file, then: ./merv eval-judge collect --pred " + pred + " --replies OUTPUT.jsonl");
                return 0;
            }
            case "collect" -> {
                List<Path> replies = new ArrayList<>();
                for (String r : f.require("replies").split(",")) {
                    replies.add(Path.of(r.trim()));
                }
                Path out = f.path("out", pred.resolveSibling(bench + "_gpt.json"));
                Judge.Collected c = Judge.collect(pred, replies, out);
                System.out.printf(Locale.ROOT, "eval-judge: %s accuracy %.2f%% (yes %d, no %d), mean score %.3f;"
                        + " %d unparseable and %d missing replies counted as no/0 -> %s%n", bench, 100 * c.accuracy(), c.yes(),
                        c.no(), c.meanScore(), c.unparseable(), c.missing(), out);
                if (c.unknown() > 0) {
                    System.err.println("eval-judge: " + c.unknown() + " replies name no question of " + pred + " (ignored)");
                }
                return 0;
            }
            default -> throw new IllegalArgumentException("eval-judge: the step is 'prepare' or 'collect', got '" + step + "'");
        }
    }

    private static int export(Flags f, Map<String, Path> weights) {
        BackboneWeights w = null;
        if (f.has("weights_root") || !weights.isEmpty()) {
            w = f.has("weights_root") ? BackboneWeights.root(f.path("weights_root")) : BackboneWeights.hfCache();
            for (Map.Entry<String, Path> e : weights.entrySet()) {
                w = w.with(e.getKey(), e.getValue());
            }
        }
        ReferenceExport.Result r = ReferenceExport.export(f.path("run"), f.has("checkpoint") ? f.path("checkpoint") : null,
                f.path("out"), w, f.getBool("merge_lora", false));
        System.out.printf(Locale.ROOT, "export: %s %s -> %s%n", r.tensors(), r.added().isEmpty() ? ""
                : "(+" + r.added().size() + " untrained fusion tensors as drawn)", r.checkpoint());
        r.notes().forEach(n -> System.out.println("export: note: " + n));
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

    private static final List<String> BENCH_FLAGS = List.of("video", "frames", "threads", "runs", "root", "stage",
            "samples", "batch", "weights_root", "seed");

    /** {@code data bench}: its own flags, plus {@code --model.*} picking the encoders as for pretrain. */
    private static int dataBench(String[] argv) throws IOException, dev.merv.data.check.SampleException {
        List<String> own = new ArrayList<>();
        List<String> model = new ArrayList<>();
        for (Flags.Flag fl : Flags.split(argv)) {
            List<String> to = fl.name().startsWith("model.") ? model : own;
            to.add("--" + fl.name());
            to.add(fl.value());
        }
        Flags f = Flags.parse("data bench", own.toArray(String[]::new), BENCH_FLAGS);
        if (f.has("video") == f.has("root")) {
            throw new IllegalArgumentException("data bench: give either --video FILE or --root DIR");
        }
        if (f.has("video")) {
            DataBench.DecodeReport r = DataBench.decode(f.path("video"), f.getInt("frames", 32), f.getInt("runs", 5),
                    VideoDecoder.Options.defaults().withDecoderThreads(f.getInt("threads", 1)));
            for (int i = 0; i < r.runMillis().length; i++) {
                System.out.printf(Locale.ROOT, "run %d: %.1f ms%n", i + 1, r.runMillis()[i]);
            }
            System.out.println(r.line());
            return 0;
        }
        ModelConfig m = ConfigCli.parseUnvalidated(model.toArray(String[]::new)).model();
        ConfigValidator.validateModel(m);
        List<EncoderInput> encoders = new ArrayList<>();
        for (int i = 0; i < m.videoBackboneIds().size(); i++) {
            encoders.add(EncoderInput.of(EncoderRegistry.create(m.videoBackboneIds().get(i), EncoderRegistry.Options.of(m, i))));
        }
        Path tokenizer;
        Path scratch = null;
        if (f.has("weights_root")) {
            tokenizer = MervModels.tokenizerDir(m.llmBackboneId(), BackboneWeights.root(f.path("weights_root")));
        } else {
            System.err.println("data bench: tokenizing with the bundled Llama-2 tokenizer (--weights_root DIR uses "
                    + m.llmBackboneId() + "'s own)");
            scratch = Files.createTempDirectory("merv-bench-tokenizer");
            tokenizer = BundledTokenizers.copyTo(BundledTokenizers.LLAMA2, scratch);
        }
        try {
            TextPipeline text = LlmRegistry.text(m.llmBackboneId(), tokenizer, LlmRegistry.Options.PARITY);
            DataBench.LoaderSettings s = new DataBench.LoaderSettings(f.getInt("samples", 64),
                    f.getInt("threads", Math.max(1, Runtime.getRuntime().availableProcessors())), f.getInt("batch", 4),
                    f.getLong("seed", 7), true, VideoDecoder.Options.defaults());
            try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(f.path("root"),
                    Stage.parse(f.get("stage", "finetune"))))) {
                System.out.println(DataBench.loader(ds, text, encoders, s).line());
            }
        } finally {
            if (scratch != null) {
                FileTrees.delete(scratch);
            }
        }
        return 0;
    }

    private static final List<String> CACHE_FLAGS = List.of("root", "feature_cache", "stage", "weights_root", "precision",
            "devices", "threads", "batch", "feature_cache_max_gb");

    /** {@code cache build}: its own flags, {@code --model.*} picking the model and {@code --weights.<id>} as for pretrain. */
    private static int cacheBuild(String[] argv) throws IOException {
        List<String> own = new ArrayList<>();
        List<String> model = new ArrayList<>();
        Map<String, Path> perBackbone = new java.util.LinkedHashMap<>();
        for (Flags.Flag fl : Flags.split(argv)) {
            if (fl.name().startsWith("weights.")) {
                perBackbone.put(fl.name().substring("weights.".length()), Path.of(fl.value()));
                continue;
            }
            List<String> to = fl.name().startsWith("model.") ? model : own;
            to.add("--" + fl.name());
            to.add(fl.value());
        }
        Flags f = Flags.parse("cache build", own.toArray(String[]::new), CACHE_FLAGS);
        ModelConfig m = ConfigCli.parseUnvalidated(model.toArray(String[]::new)).model();
        ConfigValidator.validateModel(m);
        BackboneWeights weights = new BackboneWeights(f.has("weights_root") ? f.path("weights_root") : null,
                PretrainCommand.explicitWeights(m, perBackbone));
        dev.merv.core.model.Precision precision = f.has("precision")
                ? dev.merv.core.model.Precision.parse(f.get("precision", null))
                : m.enableMixedPrecisionTraining() ? dev.merv.core.model.Precision.BF16 : dev.merv.core.model.Precision.FP32;
        dev.merv.data.cache.FeatureCache.Options cache = dev.merv.data.cache.FeatureCache.Options.defaults();
        if (f.has("feature_cache_max_gb")) {
            cache = cache.withMaxGb(f.getDouble("feature_cache_max_gb", 0));
        }
        dev.merv.data.cache.CacheBuild.Settings s = new dev.merv.data.cache.CacheBuild.Settings(f.path("root"),
                Stage.parse(f.get("stage", "finetune")), m, weights, precision, f.get("devices", "auto"),
                f.getInt("threads", Math.max(1, Runtime.getRuntime().availableProcessors())), f.getInt("batch", 8),
                f.path("feature_cache"), cache);
        long[] last = {0};
        dev.merv.data.cache.CacheBuild.Report r = dev.merv.data.cache.CacheBuild.run(s, p -> {
            long now = System.nanoTime();
            if (p.done() < p.total() && now - last[0] < 200_000_000L) {
                return;
            }
            last[0] = now;
            double eta = p.done() > 0 ? p.seconds() / p.done() * (p.total() - p.done()) : 0;
            int width = 30;
            int filled = (int) (width * p.done() / Math.max(1, p.total()));
            System.out.printf(Locale.ROOT, "\r[%s] %d/%d clips (%d computed, %d cached, %d skipped) %.2f clips/s ETA %02d:%02d:%02d",
                    "#".repeat(filled) + "-".repeat(width - filled), p.done(), p.total(), p.computed(), p.cached(), p.skipped(),
                    p.clipsPerSecond(), (long) eta / 3600, ((long) eta / 60) % 60, (long) eta % 60);
            System.out.flush();
        });
        System.out.println();
        r.notCached().forEach(msg -> System.out.println("not cached: " + msg));
        if (r.skipped() > 0) {
            System.out.println(r.skipped() + " clips could not be read (as training would skip them); ./merv data check lists them");
        }
        System.out.println(r.line());
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
                d.decoder().withTimeout(timeoutMs * 1_000_000, d.decoder().clock()));
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
