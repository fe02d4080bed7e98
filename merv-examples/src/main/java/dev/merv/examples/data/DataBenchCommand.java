package dev.merv.examples.data;

import dev.merv.core.config.ConfigCli;
import dev.merv.core.config.ConfigValidator;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.text.TextPipeline;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.bench.DataBench;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.data.videollava.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.examples.Main;
import dev.merv.examples.build.BackboneWeights;
import dev.merv.llm.BundledTokenizers;
import dev.merv.llm.LlmRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code ./merv data bench}: {@link DataBench} from the command line. {@code --video FILE} times the
 * loader's decode of one file; {@code --root DIR} times the whole loader over a dataset with a model's
 * encoders ({@code --model.type}, {@code --model.<field>} as for pretrain). Only parses flags.
 */
public final class DataBenchCommand implements Main.Command {

    private static final Set<String> OWN = Set.of("video", "frames", "threads", "runs", "root", "stage", "samples", "batch",
            "weights_root", "seed");

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
        Map<String, String> own = new LinkedHashMap<>();
        List<String> model = new ArrayList<>();
        for (ConfigCli.Flag f : ConfigCli.flags(argv)) {
            if (OWN.contains(f.name())) {
                own.put(f.name(), f.value());
            } else if (f.name().startsWith("model.")) {
                model.add("--" + f.name());
                model.add(f.value());
            } else {
                throw new IllegalArgumentException("unknown option --" + f.name());
            }
        }
        if (own.containsKey("video") == own.containsKey("root")) {
            throw new IllegalArgumentException("give either --video FILE or --root DIR");
        }
        if (own.containsKey("video")) {
            Path video = Path.of(own.get("video"));
            int threads = integer(own, "threads", 1);
            DataBench.DecodeReport r = DataBench.decode(video, integer(own, "frames", 32), integer(own, "runs", 5),
                    VideoDecoder.Options.defaults().withDecoderThreads(threads));
            for (int i = 0; i < r.runMillis().length; i++) {
                System.out.printf(java.util.Locale.ROOT, "run %d: %.1f ms%n", i + 1, r.runMillis()[i]);
            }
            System.out.println(r.line());
            return 0;
        }
        ModelConfig m = ConfigCli.parseUnvalidated(model.toArray(String[]::new)).model();
        ConfigValidator.validateModel(m);
        Path root = Path.of(own.get("root"));
        Stage stage = Stage.parse(own.getOrDefault("stage", "finetune"));
        List<EncoderInput> encoders = new ArrayList<>();
        for (int i = 0; i < m.videoBackboneIds().size(); i++) {
            encoders.add(EncoderInput.of(EncoderRegistry.get(m.videoBackboneIds().get(i))
                    .create(EncoderRegistry.Options.defaults().withFrames(m.numFrames().get(i)))));
        }
        TextPipeline text = LlmRegistry.text(m.llmBackboneId(), tokenizerDir(m, own), LlmRegistry.Options.PARITY);
        int threads = integer(own, "threads", Math.max(1, Runtime.getRuntime().availableProcessors()));
        DataBench.LoaderSettings s = new DataBench.LoaderSettings(integer(own, "samples", 64), threads,
                integer(own, "batch", 4), integer(own, "seed", 7), true, VideoDecoder.Options.defaults());
        try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(root, stage))) {
            System.out.println(DataBench.loader(ds, text, encoders, s).line());
        }
        return 0;
    }

    /** The LLM's tokenizer from its weights when they are given, else the bundled Llama-2 one (text is a small share). */
    private static Path tokenizerDir(ModelConfig m, Map<String, String> own) throws java.io.IOException {
        String llm = m.llmBackboneId();
        if (own.containsKey("weights_root")) {
            return new BackboneWeights(Path.of(own.get("weights_root")), Map.of()).resolve(llm, LlmRegistry.spec(llm).hfRepo());
        }
        Path dir = Files.createTempDirectory("merv-bench-tokenizer");
        dir.toFile().deleteOnExit();
        System.err.println("data bench: tokenizing with the bundled Llama-2 tokenizer (--weights_root DIR uses " + llm
                + "'s own)");
        Path out = BundledTokenizers.copyTo(BundledTokenizers.LLAMA2, dir);
        try (var files = Files.list(out)) {
            files.forEach(f -> f.toFile().deleteOnExit());
        }
        return out;
    }

    private static int integer(Map<String, String> own, String name, int fallback) {
        String v = own.get(name);
        try {
            return v == null ? fallback : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be an integer, got '" + v + "'", e);
        }
    }
}
