package dev.merv.data.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.model.Frame;
import dev.merv.core.text.TextPipeline;
import dev.merv.data.batch.EncoderInput;
import dev.merv.data.video.SampledVideo;
import dev.merv.data.video.VideoDecoder;
import dev.merv.data.videollava.DatasetRegistry;
import dev.merv.core.config.Stage;
import dev.merv.data.videollava.VideoLlavaDataset;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.llm.BundledTokenizers;
import dev.merv.llm.LlmRegistry;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * merv's data path against the reference's on the same files, one core each, in one run: interleaved
 * rounds (merv, then the reference, per round), medians, ratios.
 *
 * <ul>
 *   <li><b>decode</b>: the loader's decode of the 32 sampled frames as RGB ({@link VideoDecoder} defaults,
 *       one decoder thread), also with planning off (every frame decoded up to the last sampled one), against
 *       PyAV decoding forward and converting the same frames ({@code bench/data_reference.py}, one thread).
 *       The per-frame means of both sides' frames are compared, so both sampled the same frames.
 *   <li><b>pipeline</b>: the whole loader ({@link DataBench#loader}: decode, per-encoder frame sampling, the
 *       four merv-base encoders' transforms, collation, with one loader thread) against the reference's
 *       per-sample pipeline (PyAV decode, PIL resizes and the LanguageBind torch transform, torch.stack),
 *       on a micro-batch of the same clip. The last two columns split off the transforms (and, on the
 *       reference side, collation) per clip: merv's timed on already decoded frames, the reference's as its
 *       pipeline time minus its decode time.
 * </ul>
 *
 * The reference side runs as a child process; {@code -Dmerv.bench.reference} is the command that starts
 * {@code bench/data_reference.py} in a Python with PyAV, Pillow, torch and torchvision, from the repository
 * root (default {@code python3 bench/data_reference.py}); video paths are passed relative to that root.
 * The clips come from {@code bench/make-bench-clips.sh}.
 *
 * <pre>
 *   bench/make-bench-clips.sh
 *   ./merv --help > /dev/null && ./mvnw -q -pl merv-data -am test-compile
 *   java -Dmerv.bench.reference="python3 bench/data_reference.py" \
 *       -cp "merv-data/target/test-classes:$(cat merv-examples/target/merv.classpath)" dev.merv.data.bench.ReferenceBench \
 *       [--runs 5] [--samples 2] [--no-pipeline] [clip.mp4 ...]
 * </pre>
 */
public final class ReferenceBench {

    private ReferenceBench() {}

    public static void main(String[] args) throws Exception {
        int runs = 5;
        int frames = 32;
        int samples = 2;
        boolean pipeline = true;
        List<String> videos = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--frames" -> frames = Integer.parseInt(args[++i]);
                case "--samples" -> samples = Integer.parseInt(args[++i]);
                case "--no-pipeline" -> pipeline = false;
                default -> videos.add(args[i]);
            }
        }
        if (videos.isEmpty()) {
            videos = List.of("bench/media/testsrc2-854x480-30s.mp4", "bench/media/testsrc2-854x480-180s.mp4");
        }
        for (String v : videos) {
            if (!Files.exists(Path.of(v))) {
                throw new IllegalArgumentException(v + " does not exist: run bench/make-bench-clips.sh from the repository root");
            }
        }
        String command = System.getProperty("merv.bench.reference", "python3 bench/data_reference.py");
        Process ref = new ProcessBuilder("bash", "-c", command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedWriter toRef = new BufferedWriter(new OutputStreamWriter(ref.getOutputStream(), StandardCharsets.UTF_8));
                BufferedReader fromRef = new BufferedReader(new InputStreamReader(ref.getInputStream(), StandardCharsets.UTF_8))) {
            Reference reference = new Reference(toRef, fromRef);
            System.out.printf(Locale.ROOT, "ReferenceBench: %d frames sampled, %d interleaved rounds, medians; 1 decoder thread"
                    + " each side; %d cores on this machine%n", frames, runs, Runtime.getRuntime().availableProcessors());
            List<String> rows = new ArrayList<>();
            for (String v : videos) {
                rows.add(decodeRow(reference, v, frames, runs));
            }
            System.out.printf(Locale.ROOT, "%n%-34s %6s %18s %18s %18s %8s %10s%n", "decode", "frames", "merv ms (decoded)",
                    "merv seq ms", "PyAV ms (decoded)", "PyAV/merv", "max |mean|");
            rows.forEach(System.out::println);
            if (pipeline) {
                List<String> prow = new ArrayList<>();
                for (String v : videos) {
                    prow.add(pipelineRow(reference, v, frames, samples, runs));
                }
                System.out.printf(Locale.ROOT, "%n%-34s %8s %16s %16s %10s %18s %18s%n", "pipeline (merv-base transforms)",
                        "batch", "merv clips/s", "ref clips/s", "merv/ref", "merv transforms ms", "ref transforms ms");
                prow.forEach(System.out::println);
            }
            reference.quit();
        } finally {
            ref.destroy();
        }
        System.exit(0);
    }

    private static String decodeRow(Reference reference, String video, int frames, int runs) throws Exception {
        Path p = Path.of(video);
        VideoDecoder planned = new VideoDecoder(VideoDecoder.Options.defaults());
        VideoDecoder sequential = new VideoDecoder(VideoDecoder.Options.defaults().sequential());
        SampledVideo v = planned.decodeSampled(p, frames);
        sequential.decodeSampled(p, frames);
        JsonObject r = reference.decode(video, frames);
        if (r.get("frames").getAsInt() != v.numFrames()) {
            throw new IllegalStateException(video + ": PyAV counts " + r.get("frames") + " frames, merv " + v.numFrames());
        }
        double maxMeanDiff = 0;
        JsonArray means = r.getAsJsonArray("means");
        for (int i = 0; i < frames; i++) {
            maxMeanDiff = Math.max(maxMeanDiff, Math.abs(mean(v.frames().get(i)) - means.get(i).getAsDouble()));
        }
        double[] ours = new double[runs];
        double[] seq = new double[runs];
        double[] theirs = new double[runs];
        int pyDecoded = r.get("decoded").getAsInt();
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            v = planned.decodeSampled(p, frames);
            ours[i] = (System.nanoTime() - t0) / 1e6;
            theirs[i] = reference.decode(video, frames).get("ms").getAsDouble();
            t0 = System.nanoTime();
            sequential.decodeSampled(p, frames);
            seq[i] = (System.nanoTime() - t0) / 1e6;
        }
        double m = DataBench.median(ours);
        double t = DataBench.median(theirs);
        return String.format(Locale.ROOT, "%-34s %6d %11.0f (%4d) %18.0f %11.0f (%4d) %7.2fx %10.2f", p.getFileName(),
                v.numFrames(), m, v.decodedFrames(), DataBench.median(seq), t, pyDecoded, t / m, maxMeanDiff);
    }

    private static String pipelineRow(Reference reference, String video, int frames, int samples, int runs) throws Exception {
        // a one-clip dataset beside the clip: the clip hard-linked in (the dataset refuses links out of its root)
        Path dir = Files.createTempDirectory(Path.of(video).toAbsolutePath().getParent(), ".merv-refbench");
        try {
            Path media = dir.resolve(DatasetRegistry.VIDEOCHATGPT_TUNE);
            Files.createDirectories(media);
            Files.createLink(media.resolve("clip.mp4"), Path.of(video).toAbsolutePath());
            StringBuilder json = new StringBuilder("[");
            for (int i = 0; i < samples; i++) {
                json.append(i > 0 ? ",\n" : "").append("{\"id\": \"").append(i).append("\", \"video\": \"")
                        .append(DatasetRegistry.VIDEOCHATGPT_TUNE).append("/clip.mp4\", \"conversations\": [{\"from\": \"human\","
                        + " \"value\": \"<video>\\nWhat happens in this video?\"}, {\"from\": \"gpt\", \"value\": \"A test"
                        + " pattern with a moving gradient and a counter.\"}]}");
            }
            Files.writeString(dir.resolve(DatasetRegistry.FINETUNE_JSON), json.append("]\n"));
            ModelConfig m = ModelRegistry.get(ModelRegistry.MERV_BASE);
            List<EncoderInput> encoders = new ArrayList<>();
            for (int i = 0; i < m.videoBackboneIds().size(); i++) {
                encoders.add(EncoderInput.of(EncoderRegistry.create(m.videoBackboneIds().get(i),
                        EncoderRegistry.Options.defaults().withFrames(m.numFrames().get(i)))));
            }
            TextPipeline text = LlmRegistry.text(m.llmBackboneId(),
                    BundledTokenizers.copyTo(BundledTokenizers.LLAMA2, dir.resolve("tokenizer")), LlmRegistry.Options.PARITY);
            List<String> files = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                files.add(video);
            }
            DataBench.LoaderSettings settings = new DataBench.LoaderSettings(samples, 1, samples, 7, true,
                    VideoDecoder.Options.defaults());
            try (VideoLlavaDataset ds = VideoLlavaDataset.open(DatasetRegistry.inVideoLlavaDir(dir, Stage.FINETUNE))) {
                reference.pipeline(files, frames);
                double[] ours = new double[runs];
                double[] theirs = new double[runs];
                double[] oursTransform = new double[runs];
                double[] theirsTransform = new double[runs];
                SampledVideo v = new VideoDecoder().decodeSampled(Path.of(video), frames);
                for (int i = 0; i < runs; i++) {
                    ours[i] = DataBench.loader(ds, text, encoders, settings).clipsPerSecond();
                    JsonObject r = reference.pipeline(files, frames);
                    theirs[i] = samples / (r.get("ms").getAsDouble() / 1e3);
                    theirsTransform[i] = (r.get("ms").getAsDouble() - r.get("decode_ms").getAsDouble()) / samples;
                    oursTransform[i] = transformMillis(v, encoders, frames);
                }
                double o = DataBench.median(ours);
                double t = DataBench.median(theirs);
                return String.format(Locale.ROOT, "%-34s %8d %16.3f %16.3f %9.2fx %18.0f %18.0f", Path.of(video).getFileName(),
                        samples, o, t, o / t, DataBench.median(oursTransform), DataBench.median(theirsTransform));
            }
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** One clip's transforms for every encoder on its frames (what the loader runs after decoding). */
    private static double transformMillis(SampledVideo v, List<EncoderInput> encoders, int frames) {
        // frames as a fresh decode gives them: encoders with the same resize share it within a clip, never across runs
        List<Frame> fresh = new ArrayList<>();
        for (Frame f : v.frames()) {
            fresh.add(new Frame(f.width(), f.height(), f.rgb().clone()));
        }
        long t0 = System.nanoTime();
        java.util.Random rnd = new java.util.Random(7);
        for (EncoderInput e : encoders) {
            List<Frame> clip = new ArrayList<>();
            for (int p : dev.merv.data.video.FrameSampling.encoderPositions(frames, e.numFrames())) {
                clip.add(fresh.get(p));
            }
            e.transform().apply(clip, rnd);
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double mean(Frame f) {
        long s = 0;
        for (byte b : f.rgb()) {
            s += b & 255;
        }
        return s / (double) f.rgb().length;
    }

    /** The reference side over its pipes. */
    private record Reference(BufferedWriter out, BufferedReader in) {

        JsonObject decode(String file, int frames) throws Exception {
            JsonObject req = new JsonObject();
            req.addProperty("op", "decode");
            req.addProperty("file", file);
            req.addProperty("frames", frames);
            return call(req);
        }

        JsonObject pipeline(List<String> files, int frames) throws Exception {
            JsonObject req = new JsonObject();
            req.addProperty("op", "pipeline");
            JsonArray a = new JsonArray();
            files.forEach(a::add);
            req.add("files", a);
            req.addProperty("frames", frames);
            return call(req);
        }

        void quit() throws Exception {
            out.write("{\"op\": \"quit\"}\n");
            out.flush();
        }

        private JsonObject call(JsonObject req) throws Exception {
            out.write(req.toString());
            out.write('\n');
            out.flush();
            String line = in.readLine();
            if (line == null) {
                throw new IllegalStateException("the reference process ended (see its stderr above)");
            }
            JsonObject r = JsonParser.parseString(line).getAsJsonObject();
            if (r.has("error")) {
                throw new IllegalStateException("reference: " + r.get("error").getAsString());
            }
            return r;
        }
    }
}
