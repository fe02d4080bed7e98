package dev.merv.data.bench;

import ai.djl.ndarray.NDManager;
import dev.merv.build.MervModels;
import dev.merv.build.TinyBackbones;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Merv;
import dev.merv.core.model.Precision;
import dev.merv.core.model.VideoEncoder;
import dev.merv.core.nn.RandomInit;
import dev.merv.core.train.MervMicroBatch;
import dev.merv.core.train.MervTrainable;
import dev.merv.core.train.StepRecord;
import dev.merv.core.train.TrainConfig;
import dev.merv.core.train.Trainer;
import dev.merv.core.weights.BackboneWeights;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.batch.MervBatchSource;
import dev.merv.data.cache.CacheLookup;
import dev.merv.data.cache.FeatureCache;
import dev.merv.data.cache.FeatureKeys;
import dev.merv.data.cache.FileHashes;
import dev.merv.data.check.SkipLog;
import dev.merv.data.synth.SynthDataset;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import dev.merv.llm.LlmRegistry;
import dev.merv.llm.llama.LlamaModel;
import dev.merv.train.Training;
import dev.merv.train.TrainingResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Training step time without a feature cache, with an empty one (the first epoch, which fills it) and with
 * the filled one, in one run of this main, each mode a fresh training of the same steps:
 *
 * <ul>
 *   <li>{@code demo}: merv-tiny on the demo's dataset (64 synthetic 128x96 videos, 16 images, 16 text rows),
 *       one epoch, 2 loader threads, as {@code ./merv demo} trains;</li>
 *   <li>{@code base}: merv-base's four encoders with their real depth, frame counts (16, 16, 32, 16), 224 px
 *       input and 3davg resampler (64 tokens per frame), every width divided by {@code --width} (default 4,
 *       random weights: the full widths take minutes per clip on a small CPU), feeding merv-tiny's LLM so
 *       that the step is the input side plus a small LLM; synthetic 640x360 videos of 96 frames.</li>
 * </ul>
 *
 * Prints one table row per training: median step time of the steps after the first, mean loader wait,
 * total, decodes, hit rate; then per setup the medians over {@code --rounds} rounds (each round trains
 * the three modes one after the other, with a fresh cache). Run:
 *
 * <pre>
 * ./mvnw -q -pl merv-data -am test-compile
 * java -cp "merv-data/target/test-classes:merv-data/target/classes:$(cat merv-data/target/consumer.classpath)" \
 *     dev.merv.data.bench.FeatureCacheBench [--only demo|base] [--rounds 1] [--width 4] [--steps N] [--precision fp32|bf16] \
 *     [--out DIR]
 * </pre>
 */
public final class FeatureCacheBench {

    private FeatureCacheBench() {}

    record Row(String setup, String mode, List<StepRecord> steps, long decodes, double seconds) {
        String line() {
            double[] t = steps.stream().skip(1).mapToDouble(StepRecord::stepTimeS).sorted().toArray();
            double median = t.length == 0 ? Double.NaN : t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
            double wait = steps.stream().skip(1).mapToDouble(StepRecord::loaderWaitS).average().orElse(Double.NaN);
            long lookups = steps.stream().mapToLong(StepRecord::cacheLookups).sum();
            long hits = steps.stream().mapToLong(StepRecord::cacheHits).sum();
            return String.format(Locale.ROOT, "| %s | %s | %d | %.3f s | %.3f s | %.1f s | %d | %s |", setup, mode, steps.size(),
                    median, wait, seconds, decodes, lookups == 0 ? "-" : String.format(Locale.ROOT, "%.0f%%", 100.0 * hits / lookups));
        }

        double median() {
            double[] t = steps.stream().skip(1).mapToDouble(StepRecord::stepTimeS).sorted().toArray();
            return t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
        }
    }

    public static void main(String[] args) throws Exception {
        String only = null;
        int rounds = 1;
        int width = 4;
        int steps = 0;
        Precision precision = Precision.FP32;
        Path out = Files.createTempDirectory("merv-cache-bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--only" -> only = args[++i];
                case "--width" -> width = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--precision" -> precision = Precision.parse(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.out.printf(Locale.ROOT, "FeatureCacheBench: %d cores, torch threads %s, under %s%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("ai.djl.pytorch.num_threads", "default"), out);
        System.out.println("| setup | cache | steps | median step | loader wait | total | decodes | hits |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        List<List<Row>> setups = new ArrayList<>();
        List<Row> demo = new ArrayList<>();
        List<Row> base = new ArrayList<>();
        // rounds interleave the modes, so that a change in the machine's load hits all three alike
        for (int r = 0; r < rounds; r++) {
            if (only == null || only.equals("demo")) {
                demo.addAll(demo(out.resolve("demo"), steps > 0 ? steps : 12, r));
            }
            if (only == null || only.equals("base")) {
                base.addAll(base(out.resolve("base"), width, steps > 0 ? steps : 5, precision, r));
            }
        }
        setups.add(demo);
        setups.add(base);
        System.out.println();
        System.out.println("| setup | median step, no cache | cold (filling) | warm | warm speed-up | rounds |");
        System.out.println("|---|---|---|---|---|---|");
        for (List<Row> rows : setups) {
            if (rows.isEmpty()) {
                continue;
            }
            double[] m = new double[3];
            String[] modes = {"none", "cold", "warm"};
            for (int k = 0; k < 3; k++) {
                String mode = modes[k];
                m[k] = median(rows.stream().filter(x -> x.mode().equals(mode)).mapToDouble(Row::median).toArray());
            }
            System.out.printf(Locale.ROOT, "| %s | %.3f s | %.3f s | %.3f s | %.2fx | %d |%n", rows.get(0).setup(), m[0], m[1],
                    m[2], m[0] / m[2], rows.size() / 3);
        }
    }

    static double median(double[] v) {
        double[] t = v.clone();
        java.util.Arrays.sort(t);
        return t.length == 0 ? Double.NaN : t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
    }

    /** merv-tiny as the demo trains it: none, cold, warm. */
    static List<Row> demo(Path dir, int steps, int round) throws Exception {
        Path data = dir.resolve("data");
        Path videollava = data.resolve("download/videollava");
        if (!Files.exists(videollava.resolve(DatasetRegistry.FINETUNE_JSON))) {
            SynthDataset.generate(SynthDataset.Config.of(videollava, 64, 1));
        }
        Path weights = TinyBackbones.write(dir.resolve("weights"), 1);
        Path cache = dir.resolve("cache-" + round);
        List<Row> out = new ArrayList<>();
        for (String mode : List.of("none", "cold", "warm")) {
            long t0 = System.nanoTime();
            Training.Builder b = Training.builder("merv-tiny").stage(Stage.FINETUNE).datasetRoot(data)
                    .weights(BackboneWeights.root(weights)).runRoot(dir.resolve("runs")).runId(mode + "-" + round).maxSteps(steps)
                    .warmupRatio(0.05).learningRate(3e-3).seed(1).devices("cpu").saveEvery(steps).loaderThreads(2)
                    .console(false);
            if (!mode.equals("none")) {
                b.featureCache(cache);
            }
            TrainingResult r = b.build().run();
            Row row = new Row("demo (merv-tiny)", mode, r.steps(), r.decodes(), (System.nanoTime() - t0) / 1e9);
            System.out.println(row.line());
            out.add(row);
        }
        return out;
    }

    /** merv-base's encoders at width/{@code width}, random weights, merv-tiny's LLM: none, cold, warm. */
    static List<Row> base(Path dir, int width, int steps, Precision precision, int round) throws Exception {
        Path videollava = dir.resolve("data/download/videollava");
        if (!Files.exists(videollava.resolve(DatasetRegistry.FINETUNE_JSON))) {
            SynthDataset.generate(new SynthDataset.Config(videollava, 12, 5, 640, 360, 96, 24, false));
        }
        Path tinyWeights = TinyBackbones.write(dir.resolve("weights"), 1);
        Path llmDir = tinyWeights.resolve(Catalog.TINY_LLAMA2);
        ModelConfig base = ModelRegistry.get("merv-base");
        ModelConfig cfg = base.toBuilder().llmBackboneId(Catalog.TINY_LLAMA2).llmMaxLength(256).fusionEmbedDim(32).build();
        List<EncoderRegistry.Options> registry = new ArrayList<>();
        List<FrozenVideoEncoder> shapes = new ArrayList<>();
        List<String> weightIds = new ArrayList<>();
        for (int i = 0; i < cfg.videoBackboneIds().size(); i++) {
            EncoderRegistry.Options o = MervModels.encoderOptions(cfg, i).withWidthDivisor(width);
            registry.add(o);
            shapes.add(EncoderRegistry.create(cfg.videoBackboneIds().get(i), o));
            weightIds.add("random seed " + (100 + i) + " width/" + width);
        }
        List<EncoderInput> inputs = shapes.stream().map(EncoderInput::of).toList();
        var text = LlmRegistry.text(Catalog.TINY_LLAMA2, llmDir, LlmRegistry.Options.PARITY);
        Path cache = dir.resolve("cache-" + round);
        List<Row> out = new ArrayList<>();
        String setup = "merv-base encoders /" + width + " (" + precision + ")";
        for (String mode : List.of("none", "cold", "warm")) {
            long t0 = System.nanoTime();
            TrainConfig tc = new TrainConfig();
            tc.stage = Stage.FINETUNE;
            tc.runId = mode + "-" + round;
            tc.runRootDir = dir.resolve("runs").toString();
            tc.modelId = "merv-base-w" + width;
            tc.seed = 1;
            tc.globalBatchSize = 2;
            tc.perDeviceBatchSize = 2;
            tc.maxSteps = steps;
            tc.learningRate = 1e-4;
            tc.precision = precision;
            tc.recompute = false;
            tc.devices = "cpu";
            tc.saveCheckpointAfter = 1_000_000;
            tc.console = false;
            FeatureCache fc = null;
            FileHashes hashes = new FileHashes(null);
            CacheLookup lookup = null;
            if (!mode.equals("none")) {
                fc = FeatureCache.open(cache, FeatureCache.Options.defaults());
                FeatureKeys keys = FeatureKeys.ofWeights(cfg, shapes, registry, weightIds, precision,
                        VideoDecoder.Options.defaults(), true);
                lookup = new CacheLookup(fc, keys, hashes, true);
            }
            MervBatchSource.Options lo = MervBatchSource.Options.defaults(1, cfg.llmMaxLength(), cfg.visualFeatureLength())
                    .withThreads(2);
            List<StepRecord> records;
            long decodes;
            try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(videollava, Stage.FINETUNE));
                    MervBatchSource source = new MervBatchSource(ds, text, inputs, lo, new SkipLog(), lookup);
                    Trainer<MervMicroBatch> trainer = new Trainer<>(tc, (rank, device, manager) ->
                            new MervTrainable(model(cfg, registry, precision, llmDir, manager)), source, "{}\n")) {
                records = trainer.run();
                decodes = source.decodes();
            } finally {
                if (fc != null) {
                    fc.close();
                }
            }
            Row row = new Row(setup, mode, records, decodes, (System.nanoTime() - t0) / 1e9);
            System.out.println(row.line());
            out.add(row);
        }
        return out;
    }

    static Merv model(ModelConfig cfg, List<EncoderRegistry.Options> registry, Precision precision, Path llmDir,
            NDManager manager) {
        List<VideoEncoder> encoders = new ArrayList<>();
        for (int i = 0; i < cfg.videoBackboneIds().size(); i++) {
            FrozenVideoEncoder e = EncoderRegistry.create(cfg.videoBackboneIds().get(i), registry.get(i));
            RandomInit.initialize(e.module(), 100 + i, manager);
            e.castTo(precision.compute(), manager);
            encoders.add(e);
        }
        LlamaModel llm = LlmRegistry.fromPretrained(Catalog.TINY_LLAMA2, llmDir, llmDir,
                dev.merv.core.torch.ScalarType.FLOAT32, manager, LlmRegistry.Options.PARITY, 1);
        Merv merv = new Merv(cfg, encoders, llm, manager, new Merv.Options());
        merv.applyStage(Stage.FINETUNE);
        return merv;
    }
}
