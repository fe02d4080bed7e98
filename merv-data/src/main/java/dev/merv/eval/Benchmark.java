package dev.merv.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.merv.data.video.ClipWindow;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A benchmark in the reference's evaluation layout: {@code <dir>/test_q.json} (a list of questions:
 * {@code question_id}, {@code video_name}, {@code question}, for MCQ {@code options} and {@code num_option};
 * optional {@code time: [start, end]} seconds and {@code end_frame}), {@code <dir>/test_a.json} (per
 * {@code question_id}: {@code answer}, for MCQ {@code answer_id}) and the media under {@code <dir>/videos/}.
 *
 * <p>The reference names a benchmark by its {@code eval_dataset}: a name containing {@code _token} reads the data of
 * the name without it and marks the prompts with the {@code <video>} placeholder (W3); the result files carry the
 * full name. {@link #open} takes the data directory and that name.
 *
 * <p>Media lookup as the reference's scripts: {@code videos/<video_name>} when that exact file or folder exists (VLEP
 * names its frame folders without an extension), else the first of {@code videos/<video_name>.*} in name order.
 */
public final class Benchmark {

    /**
     * One question.
     *
     * @param index position in {@code test_q.json}
     * @param fields the entry as written (the result line starts from it)
     * @param id {@code question_id} as text (the key results are matched by)
     * @param window the clip window of {@code time} / {@code end_frame}
     */
    public record Question(int index, JsonObject fields, String id, String videoName, String question, ClipWindow window) {}

    /** Where the files are: {@code test_q}/{@code test_a} names without {@code .json} (the reference's defaults). */
    public record FileNames(String questions, String answers) {
        public static final FileNames DEFAULT = new FileNames("test_q", "test_a");
    }

    private final Path dir;
    private final String name;
    private final Path questionsFile;
    private final Path answersFile;
    private final List<Question> questions;
    private final Map<String, JsonObject> answers;

    private Benchmark(Path dir, String name, Path questionsFile, Path answersFile, List<Question> questions,
            Map<String, JsonObject> answers) {
        this.dir = dir;
        this.name = name;
        this.questionsFile = questionsFile;
        this.answersFile = answersFile;
        this.questions = questions;
        this.answers = answers;
    }

    /** Opens {@code dir} (the reference's {@code eval_data/<name without _token>}) as benchmark {@code name}. */
    public static Benchmark open(Path dir, String name) {
        return open(dir, name, FileNames.DEFAULT);
    }

    /**
     * Opens a benchmark. {@code dir} may also be given as the reference names it, {@code eval_data/X_token}: when that
     * directory does not exist, {@code _token} is removed from its last component. {@code name} null = the directory's
     * name as given. Every question is checked (id, video name, question text, a well-formed window; ids unique) and
     * fails naming the file, entry and field.
     */
    public static Benchmark open(Path dir, String name, FileNames files) {
        String given = dir.getFileName().toString();
        String evalName = name != null ? name : given;
        Path data = dir;
        if (!Files.isDirectory(data) && given.contains("_token")) {
            data = dir.resolveSibling(given.replace("_token", ""));
        }
        if (!Files.isDirectory(data)) {
            throw new IllegalArgumentException("benchmark directory " + dir + " does not exist");
        }
        Path qf = data.resolve(files.questions() + ".json");
        Path af = data.resolve(files.answers() + ".json");
        JsonArray qs = array(qf);
        JsonArray as = array(af);
        Map<String, JsonObject> answers = new HashMap<>();
        for (int i = 0; i < as.size(); i++) {
            JsonObject o = object(as.get(i), af, i);
            answers.put(id(o, af, i), o);
        }
        List<Question> out = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < qs.size(); i++) {
            JsonObject o = object(qs.get(i), qf, i);
            String id = id(o, qf, i);
            if (!seen.add(id)) {
                throw new IllegalArgumentException(qf + " entry " + i + ": question_id " + id + " appears twice (results"
                        + " are matched by question_id, so one would be lost)");
            }
            out.add(new Question(i, o, id, text(o, "video_name", qf, i, id), text(o, "question", qf, i, id),
                    window(o, qf, i, id)));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(qf + " holds no question");
        }
        return new Benchmark(data, evalName, qf, af, Collections.unmodifiableList(out), answers);
    }

    private static JsonArray array(Path f) {
        if (!Files.exists(f)) {
            throw new IllegalArgumentException("benchmark file " + f + " does not exist");
        }
        try {
            JsonElement e = JsonParser.parseString(Files.readString(f, StandardCharsets.UTF_8));
            if (!e.isJsonArray()) {
                throw new IllegalArgumentException(f + ": expected a JSON list of entries");
            }
            return e.getAsJsonArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(f + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    private static JsonObject object(JsonElement e, Path f, int i) {
        if (!e.isJsonObject()) {
            throw new IllegalArgumentException(f + " entry " + i + ": expected an object, got " + e);
        }
        return e.getAsJsonObject();
    }

    /** The key of a {@code question_id} value (a string's text, a number's digits). */
    static String id(JsonObject o, Path f, int i) {
        JsonElement q = o.get("question_id");
        if (q == null || !q.isJsonPrimitive()) {
            throw new IllegalArgumentException(f + " entry " + i + ": no question_id");
        }
        return q.getAsString();
    }

    private static String text(JsonObject o, String field, Path f, int i, String id) {
        JsonElement e = o.get(field);
        if (e == null || !e.isJsonPrimitive()) {
            throw new IllegalArgumentException(f + " entry " + i + " (question_id " + id + "): no " + field);
        }
        return e.getAsString();
    }

    private static ClipWindow window(JsonObject o, Path f, int i, String id) {
        Double start = null;
        Double end = null;
        Integer endFrame = null;
        try {
            JsonElement t = o.get("time");
            if (t != null && !t.isJsonNull()) {
                JsonArray a = t.getAsJsonArray();
                if (a.size() != 2) {
                    throw new IllegalArgumentException("time must be [start, end] in seconds, got " + t);
                }
                start = number(a.get(0));
                end = number(a.get(1));
            }
            JsonElement ef = o.get("end_frame");
            if (ef != null && !ef.isJsonNull()) {
                endFrame = ef.getAsInt();
            }
            return new ClipWindow(start, end, endFrame);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(f + " entry " + i + " (question_id " + id + "): " + e.getMessage(), e);
        }
    }

    private static Double number(JsonElement e) {
        if (e.isJsonNull()) {
            return null;
        }
        String s = e.getAsString();
        return s.equals("NaN") ? Double.NaN : Double.parseDouble(s);
    }

    /** The eval_dataset name the result files carry (with {@code _token} when given so). */
    public String name() {
        return name;
    }

    /** The name without {@code _token}: the reference's {@code benchmark}. */
    public String dataName() {
        return name.replace("_token", "");
    }

    /** Whether prompts carry the {@code <video>} placeholder ({@code _token} in the name, W3). */
    public boolean token() {
        return name.contains("_token");
    }

    public Path dir() {
        return dir;
    }

    public Path questionsFile() {
        return questionsFile;
    }

    public Path answersFile() {
        return answersFile;
    }

    public List<Question> questions() {
        return questions;
    }

    /** The answer entry of {@code q}; fails naming {@code test_a.json} when there is none. */
    public JsonObject answer(Question q) {
        JsonObject a = answers.get(q.id());
        if (a == null) {
            throw new IllegalArgumentException(answersFile + ": no answer for question_id " + q.id());
        }
        return a;
    }

    /** The media of {@code q}: {@code videos/<name>} if it exists, else the first {@code videos/<name>.*}. */
    public Path media(Question q) {
        Path videos = dir.resolve("videos");
        Path exact = videos.resolve(q.videoName());
        if (Files.exists(exact)) {
            return exact;
        }
        String prefix = q.videoName() + ".";
        Path parent = exact.getParent();
        if (Files.isDirectory(parent)) {
            String stem = exact.getFileName().toString() + ".";
            try (Stream<Path> s = Files.list(parent)) {
                List<Path> hits = s.filter(p -> p.getFileName().toString().startsWith(stem)).sorted().toList();
                if (!hits.isEmpty()) {
                    return hits.get(0);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + parent, e);
            }
        }
        throw new IllegalArgumentException(questionsFile + " entry " + q.index() + " (question_id " + q.id() + "): no video '"
                + prefix + "*' (nor '" + q.videoName() + "') in " + videos);
    }

    /**
     * The reference's chunk {@code k} of {@code n} ({@code split_list}): chunks of {@code ceil(len/n)} consecutive
     * questions; a {@code k} past the last chunk is empty (the reference fails there).
     *
     * @return {@code [from, to)}
     */
    public static int[] chunk(int size, int n, int k) {
        if (n < 1) {
            throw new IllegalArgumentException("--num_chunks must be at least 1, got " + n);
        }
        if (k < 0 || k >= n) {
            throw new IllegalArgumentException("--chunk_idx must be in 0.." + (n - 1) + ", got " + k);
        }
        int per = (size + n - 1) / n;
        int from = Math.min(size, k * per);
        return new int[] {from, Math.min(size, from + per)};
    }

    /** The questions of chunk {@code k} of {@code n}. */
    public List<Question> chunk(int n, int k) {
        int[] r = chunk(questions.size(), n, k);
        return questions.subList(r[0], r[1]);
    }
}
