package dev.merv.data.synth;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.model.Frame;
import dev.merv.data.check.SkipReason;
import dev.merv.data.video.VideoWriter;
import dev.merv.data.videollava.DatasetRegistry;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Writes a small Video-LLaVA-shaped dataset of moving coloured shapes: mp4 videos (FFmpeg), PNG
 * images, text-only rows, and both JSON files ({@code valley_llavaimage.json} for align,
 * {@code videochatgpt_llavaimage_tune.json} for finetune) in the reference layout. The answers
 * are learnable from the pixels: "What colour is the moving shape?" → the shape's colour, "Which
 * way does it move?" → its direction. Deterministic from the seed.
 *
 * <p>With {@link Config#faults} it also adds one entry of every bad-input kind to each JSON (missing
 * file, corrupt and truncated mp4s, a zero-frame video, an unreadable image, malformed rows, paths
 * leaving the root, an over-long video for the timeout) and returns where they are, so tests can
 * check that exactly those are skipped.
 *
 * <p>Command line: {@code SynthDataset --out DIR --videos N --seed S [--faults] [--width W]
 * [--height H] [--frames F] [--fps R]}.
 */
public final class SynthDataset {

    /** Shape colours: name and RGB. */
    public static final String[] COLOURS = {"red", "green", "blue", "yellow", "purple"};
    private static final int[][] RGB = {{220, 30, 30}, {30, 190, 40}, {40, 70, 230}, {230, 215, 40}, {150, 50, 200}};
    public static final String[] DIRECTIONS = {"left", "right", "up", "down"};
    public static final String[] SHAPES = {"square", "circle"};

    /** Frames of the over-long video used to provoke a decode timeout. */
    public static final int LONG_VIDEO_FRAMES = 600;

    /**
     * @param out the Video-LLaVA folder to create (holds both JSONs)
     * @param videos videos per stage
     * @param faults add one entry of every bad kind to each JSON
     */
    public record Config(Path out, int videos, long seed, int width, int height, int frames, int fps, boolean faults) {
        public static Config of(Path out, int videos, long seed) {
            return new Config(out, videos, seed, 128, 96, 48, 16, false);
        }

        public Config withFaults(boolean f) {
            return new Config(out, videos, seed, width, height, frames, fps, f);
        }
    }

    /** An injected bad entry: where it is and what a check must report. */
    public record Fault(String json, int index, String path, SkipReason reason) {}

    /** What was written. */
    public record Manifest(Path root, int alignEntries, int finetuneEntries, List<Fault> faults) {
        public List<Fault> faults(String json) {
            return faults.stream().filter(f -> f.json().equals(json)).toList();
        }

        /** The {@code i}-th video of the finetune set (its questions are in the finetune JSON). */
        public Path finetuneVideo(int i) {
            return root.resolve(tuneVideo(i));
        }
    }

    private static String tuneVideo(int i) {
        return String.format(Locale.ROOT, "%s/v_synth_%05d.mp4", DatasetRegistry.VIDEOCHATGPT_TUNE, i);
    }

    /** One clip's content. */
    public record Clip(String colour, String direction, String shape) {}

    private SynthDataset() {}

    public static Manifest generate(Config c) throws IOException {
        if (c.videos() < 1) {
            throw new IllegalArgumentException("--videos must be at least 1");
        }
        Path root = c.out();
        Files.createDirectories(root);
        Random rnd = new Random(c.seed());
        int images = Math.max(2, c.videos() / 4);
        int texts = Math.max(2, c.videos() / 4);

        List<String> align = new ArrayList<>();
        List<String> tune = new ArrayList<>();
        Gson gson = new GsonBuilder().disableHtmlEscaping().create();

        for (int i = 0; i < c.videos(); i++) {
            Clip clip = new Clip(COLOURS[rnd.nextInt(COLOURS.length)], DIRECTIONS[rnd.nextInt(DIRECTIONS.length)],
                    SHAPES[rnd.nextInt(SHAPES.length)]);
            String valley = String.format(Locale.ROOT, "%s/%06d_%06d/synth_%05d.mp4", DatasetRegistry.VALLEY,
                    i / 50 * 50 + 1, i / 50 * 50 + 50, i);
            String tuneVid = tuneVideo(i);
            Path vp = root.resolve(valley);
            writeVideo(vp, c.width(), c.height(), c.frames(), c.fps(), clip, rnd.nextLong(), false);
            copy(vp, root.resolve(tuneVid));
            align.add(gson.toJson(row("valley_" + i, "video", valley,
                    "<video>\nProvide a brief description of the given video.", caption(clip))));
            tune.add(gson.toJson(row("vcg_" + i, "video", tuneVid,
                    "<video>\nWhat colour is the moving shape?", clip.colour(),
                    "Which way does it move?", clip.direction(),
                    "What shape is it?", clip.shape())));
        }
        for (int i = 0; i < images; i++) {
            Clip still = new Clip(COLOURS[rnd.nextInt(COLOURS.length)], "none", SHAPES[rnd.nextInt(SHAPES.length)]);
            String alignImg = String.format(Locale.ROOT, "%s/synth/img_%05d.png", DatasetRegistry.LLAVA_IMAGE, i);
            String tuneImg = String.format(Locale.ROOT, "%s/coco/train2017/img_%05d.png", DatasetRegistry.LLAVA_IMAGE_TUNE, i);
            Path ip = root.resolve(alignImg);
            writeImage(ip, c.width(), c.height(), still, rnd.nextLong());
            copy(ip, root.resolve(tuneImg));
            align.add(gson.toJson(row("img_" + i, "image", alignImg, "<image>\nWrite a terse but informative summary of the picture.",
                    "A " + still.colour() + " " + still.shape() + ".")));
            tune.add(gson.toJson(row("coco_" + i, "image", tuneImg, "<image>\nWhat colour is the shape?", still.colour(),
                    "What shape is it?", still.shape())));
        }
        for (int i = 0; i < texts; i++) {
            int a = rnd.nextInt(10);
            int b = rnd.nextInt(10);
            tune.add(gson.toJson(row("text_" + i, null, null, "What is " + a + " plus " + b + "?",
                    Integer.toString(a + b))));
        }
        List<Fault> faults = new ArrayList<>();
        if (c.faults()) {
            injectFaults(root, c, DatasetRegistry.ALIGN_JSON, align, faults, rnd, gson, true);
            injectFaults(root, c, DatasetRegistry.FINETUNE_JSON, tune, faults, rnd, gson, false);
        }
        writeJson(root.resolve(DatasetRegistry.ALIGN_JSON), align);
        writeJson(root.resolve(DatasetRegistry.FINETUNE_JSON), tune);
        return new Manifest(root, align.size(), tune.size(), List.copyOf(faults));
    }

    /** "A red square moving left." */
    public static String caption(Clip clip) {
        return "A " + clip.colour() + " " + clip.shape() + " moving " + clip.direction() + ".";
    }

    private static void injectFaults(Path root, Config c, String json, List<String> rows, List<Fault> faults, Random rnd,
            Gson gson, boolean alignStage) throws IOException {
        String dir = alignStage ? DatasetRegistry.VALLEY + "/faults" : DatasetRegistry.VIDEOCHATGPT_TUNE;
        String imgDir = alignStage ? DatasetRegistry.LLAVA_IMAGE + "/faults" : DatasetRegistry.LLAVA_IMAGE_TUNE + "/coco/faults";
        String q = "<video>\nWhat colour is the moving shape?";
        Clip clip = new Clip("red", "left", "square");
        List<String[]> bad = new ArrayList<>(); // {element text, path, reason}

        String missing = dir + "/v_missing.mp4";
        bad.add(new String[] {gson.toJson(row("f_missing", "video", missing, q, "red")), missing, "missing"});

        String corrupt = dir + "/v_corrupt.mp4";
        byte[] junk = new byte[4096];
        rnd.nextBytes(junk);
        write(root.resolve(corrupt), junk);
        bad.add(new String[] {gson.toJson(row("f_corrupt", "video", corrupt, q, "red")), corrupt, "corrupt"});

        // a cut-off download: index at the end (never written) ...
        String truncated = dir + "/v_truncated.mp4";
        Path full = root.resolve(dir + "/.tmp_full.mp4");
        writeVideo(full, c.width(), c.height(), c.frames(), c.fps(), clip, rnd.nextLong(), false);
        byte[] bytes = Files.readAllBytes(full);
        write(root.resolve(truncated), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        bad.add(new String[] {gson.toJson(row("f_truncated", "video", truncated, q, "red")), truncated, "corrupt"});
        // ... and with the index first, so it opens and then runs out of frames
        String truncatedFs = dir + "/v_truncated_faststart.mp4";
        writeVideo(full, c.width(), c.height(), c.frames(), c.fps(), clip, rnd.nextLong(), true);
        bytes = Files.readAllBytes(full);
        write(root.resolve(truncatedFs), java.util.Arrays.copyOf(bytes, bytes.length * 2 / 5));
        Files.delete(full);
        bad.add(new String[] {gson.toJson(row("f_truncated_fs", "video", truncatedFs, q, "red")), truncatedFs, "corrupt"});

        String empty = dir + "/v_empty.mp4";
        new VideoWriter(root.resolve(empty), c.width(), c.height(), c.fps(), false).close();
        bad.add(new String[] {gson.toJson(row("f_empty", "video", empty, q, "red")), empty, "empty"});

        String badImage = imgDir + "/broken.jpg";
        byte[] notImage = "this is not a JPEG".getBytes(StandardCharsets.UTF_8);
        write(root.resolve(badImage), notImage);
        bad.add(new String[] {gson.toJson(row("f_image", "image", badImage, "<image>\nWhat colour is the shape?", "red")),
                badImage, "unreadable-image"});

        bad.add(new String[] {"{\"id\": \"f_conv\", \"conversations\": \"oops\"}", "", "malformed-entry"});
        JsonObject listVideo = row("f_list", "video", "x.mp4", q, "red");
        JsonArray two = new JsonArray();
        two.add(dir + "/a.mp4");
        two.add(dir + "/b.mp4");
        listVideo.add("video", two);
        bad.add(new String[] {gson.toJson(listVideo), "", "malformed-entry"});
        bad.add(new String[] {"{\"id\": \"f_syntax\", \"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}], oops}",
                "", "malformed-entry"});
        bad.add(new String[] {gson.toJson(row("f_order", null, null, "Hello?", "Hi.")).replace("\"human\"", "\"gpt\""), "",
                "malformed-entry"});
        if (alignStage) {
            bad.add(new String[] {gson.toJson(row("f_turns", "video", dir + "/x.mp4", q, "red", "More?", "No.")), dir + "/x.mp4",
                    "malformed-entry"});
        }

        String escape = dir + "/../../../escape.mp4";
        bad.add(new String[] {gson.toJson(row("f_escape", "video", escape, q, "red")), escape, "outside-root"});
        String absolute = root.toAbsolutePath().resolve(dir + "/v_synth_00000.mp4").toString();
        bad.add(new String[] {gson.toJson(row("f_absolute", "video", absolute, q, "red")), absolute, "outside-root"});

        String longVideo = dir + "/v_long.mp4";
        writeVideo(root.resolve(longVideo), 64, 48, LONG_VIDEO_FRAMES, c.fps(), clip, rnd.nextLong(), false);
        bad.add(new String[] {gson.toJson(row("f_long", "video", longVideo, q, "red")), longVideo, "timeout"});

        // spread the bad rows over the file at seeded positions
        for (String[] b : bad) {
            int at = rnd.nextInt(rows.size() + 1);
            rows.add(at, b[0]);
            for (Fault f : new ArrayList<>(faults)) {
                if (f.json().equals(json) && f.index() >= at) {
                    faults.set(faults.indexOf(f), new Fault(json, f.index() + 1, f.path(), f.reason()));
                }
            }
            faults.add(new Fault(json, at, b[1], SkipReason.fromCode(b[2])));
        }
    }

    private static JsonObject row(String id, String mediaKey, String media, String... turns) {
        JsonObject o = new JsonObject();
        o.addProperty("id", id);
        if (mediaKey != null) {
            o.addProperty(mediaKey, media);
        }
        JsonArray conv = new JsonArray();
        for (int t = 0; t < turns.length; t++) {
            JsonObject turn = new JsonObject();
            turn.addProperty("from", t % 2 == 0 ? "human" : "gpt");
            turn.addProperty("value", turns[t]);
            conv.add(turn);
        }
        o.add("conversations", conv);
        return o;
    }

    private static void writeJson(Path file, List<String> rows) throws IOException {
        StringBuilder sb = new StringBuilder("[\n");
        for (int i = 0; i < rows.size(); i++) {
            sb.append("  ").append(rows.get(i)).append(i + 1 < rows.size() ? ",\n" : "\n");
        }
        sb.append("]\n");
        write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static void write(Path file, byte[] bytes) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to.getParent());
        Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Renders and encodes one clip of a shape crossing the frame. */
    public static void writeVideo(Path file, int width, int height, int frames, int fps, Clip clip, long seed,
            boolean faststart) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Random r = new Random(seed);
        int[] bg = {15 + r.nextInt(40), 15 + r.nextInt(40), 15 + r.nextInt(40)};
        try (VideoWriter w = new VideoWriter(file, width, height, fps, faststart)) {
            for (int t = 0; t < frames; t++) {
                double p = frames == 1 ? 0.5 : t / (double) (frames - 1);
                w.write(render(width, height, clip, bg, p));
            }
        }
    }

    /** One frame: the shape at fraction {@code p} of its path. */
    public static Frame render(int width, int height, Clip clip, int[] bg, double p) {
        int radius = Math.max(2, Math.min(width, height) / 6);
        double from = 0.2;
        double to = 0.8;
        double cx = width / 2.0;
        double cy = height / 2.0;
        switch (clip.direction()) {
            case "left" -> cx = width * (to + (from - to) * p);
            case "right" -> cx = width * (from + (to - from) * p);
            case "up" -> cy = height * (to + (from - to) * p);
            case "down" -> cy = height * (from + (to - from) * p);
            default -> { }
        }
        int[] fg = RGB[indexOf(COLOURS, clip.colour())];
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                double dx = x + 0.5 - cx;
                double dy = y + 0.5 - cy;
                boolean in = clip.shape().equals("circle") ? dx * dx + dy * dy <= radius * radius
                        : Math.abs(dx) <= radius && Math.abs(dy) <= radius;
                int[] col = in ? fg : bg;
                int k = (y * width + x) * 3;
                rgb[k] = (byte) col[0];
                rgb[k + 1] = (byte) col[1];
                rgb[k + 2] = (byte) col[2];
            }
        }
        return new Frame(width, height, rgb);
    }

    private static void writeImage(Path file, int width, int height, Clip still, long seed) throws IOException {
        Random r = new Random(seed);
        int[] bg = {15 + r.nextInt(40), 15 + r.nextInt(40), 15 + r.nextInt(40)};
        Frame f = render(width, height, still, bg, 0.5);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int k = (y * width + x) * 3;
                img.setRGB(x, y, (f.rgb()[k] & 255) << 16 | (f.rgb()[k + 1] & 255) << 8 | (f.rgb()[k + 2] & 255));
            }
        }
        Files.createDirectories(file.getParent());
        if (!ImageIO.write(img, "png", file.toFile())) {
            throw new UncheckedIOException(new IOException("no PNG writer"));
        }
    }

    private static int indexOf(String[] a, String s) {
        for (int i = 0; i < a.length; i++) {
            if (a[i].equals(s)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown value '" + s + "'");
    }
}
