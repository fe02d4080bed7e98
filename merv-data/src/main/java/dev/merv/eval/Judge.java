package dev.merv.eval;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The open-ended judge of the reference ({@code eval_gpt_batch.py}: Video-ChatGPT's protocol on OpenAI's batch API),
 * split into the two steps merv can do offline; merv never calls the network.
 *
 * <ol>
 *   <li>{@link #prepare}: from {@code <benchmark>_pred_merge.jsonl}, the batch-API request file the reference uploads,
 *       one request per question ({@code custom_id} = its {@code question_id}, {@code POST /v1/chat/completions}, the
 *       judge model, the reference's system and user prompts verbatim, {@code max_tokens} 500). Submit it with
 *       OpenAI's batch API yourself and download the output file.
 *   <li>{@link #collect}: reads that output ({@code response.body.choices[0].message.content}, a Python dict string
 *       such as {@code {'pred': 'yes', 'score': 4}}), writes the reference's {@code <benchmark>_gpt.json}
 *       ({@code {question_id: [verdict, {"q", "a", "pred"}]}}) and reports accuracy = yes / (yes + no) and the mean
 *       score. A reply that is no such dict, or a question without a reply, is {@code {'pred': 'no', 'score': 0}} as in
 *       the reference, and counted.
 * </ol>
 */
public final class Judge {

    /** The reference's judge model (the paper used gpt-3.5-turbo-0613, no longer served). */
    public static final String DEFAULT_MODEL = "gpt-4o-mini-2024-07-18";

    /** The reference's system prompt, verbatim (its Python string pieces joined as Python joins them). */
    public static final String SYSTEM_PROMPT = "You are an intelligent chatbot designed for evaluating the correctness of"
            + " generative outputs for question-answer pairs. Your task is to compare the predicted answer with the correct"
            + " answer and determine if they match meaningfully. Here's how you can accomplish the task:------"
            + "##INSTRUCTIONS: - Focus on the meaningful match between the predicted answer and the correct answer.\n"
            + "- Consider synonyms or paraphrases as valid matches.\n"
            + "- Evaluate the correctness of the prediction compared to the answer.";

    /** The reference's user prompt, verbatim, with {@code %1$s} question, {@code %2$s} answer, {@code %3$s} prediction. */
    public static final String USER_PROMPT = "Please evaluate the following video-based question-answer pair:\n\n"
            + "Question: %1$s\nCorrect Answer: %2$s\nPredicted Answer: %3$s\n\n"
            + "Provide your evaluation only as a yes/no and score where the score is an integer value between 0 and 5,"
            + " with 5 indicating the highest meaningful match. Please generate the response in the form of a Python"
            + " dictionary string with keys 'pred' and 'score', where value of 'pred' is  a string of 'yes' or 'no' and"
            + " value of 'score' is in INTEGER, not STRING.DO NOT PROVIDE ANY OTHER OUTPUT TEXT OR EXPLANATION. Only"
            + " provide the Python dictionary string. For example, your response should look like this:"
            + " {'pred': 'yes', 'score': 4}.";

    /** The reference's {@code max_tokens}. */
    public static final int MAX_TOKENS = 500;

    /** OpenAI's batch limits as the reference splits uploads: more than this many requests start a new file. */
    static final int MAX_REQUESTS_PER_FILE = 49_000;
    /** ... or a file that would exceed this many MiB. */
    static final double MAX_MIB_PER_FILE = 190;

    /** One question to judge: the reference's {@code qa_set}. */
    public record QaSet(String id, JsonElement question, JsonElement answer, JsonElement pred) {}

    /** The files {@link #prepare} wrote and how many requests they hold. */
    public record Prepared(List<Path> files, int requests) {}

    /**
     * The judge's verdict on one question.
     *
     * @param parsed whether a reply was read as the dict asked for (false: no reply or an unreadable one, scored
     *     no / 0)
     */
    public record Verdict(String pred, Number score, boolean parsed) {
        static final Verdict NO = new Verdict("no", 0L, false);

        /** The reference's accuracy rule: {@code 'yes' in pred.lower()}. */
        public boolean yes() {
            return pred.toLowerCase(Locale.ROOT).contains("yes");
        }
    }

    /**
     * @param unparseable replies that were no {@code {'pred': str, 'score': number}} dict
     * @param missing questions without a reply
     * @param unknown replies whose {@code custom_id} is no question of the predictions
     */
    public record Collected(int yes, int no, double meanScore, int unparseable, int missing, int unknown, Path output,
            Map<String, Verdict> verdicts) {
        public double accuracy() {
            return yes + no == 0 ? 0 : yes / (double) (yes + no);
        }
    }

    private Judge() {}

    /** The benchmark name of a {@code <benchmark>_pred_merge.jsonl} file. */
    public static String benchmarkOf(Path predMerge) {
        String f = predMerge.getFileName().toString();
        String suffix = "_pred_merge.jsonl";
        return f.endsWith(suffix) ? f.substring(0, f.length() - suffix.length()) : f.replaceFirst("\\.jsonl$", "");
    }

    /** The questions of a predictions file: {@code question_id}, {@code question}, {@code answer}, {@code pred}. */
    public static List<QaSet> read(Path predMerge) {
        List<String> lines;
        try {
            lines = Files.readAllLines(predMerge, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + predMerge, e);
        }
        List<QaSet> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            JsonObject o;
            try {
                o = JsonParser.parseString(lines.get(i)).getAsJsonObject();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(predMerge + " line " + (i + 1) + ": not a JSON object: " + e.getMessage(), e);
            }
            for (String f : List.of("question_id", "question", "answer", "pred")) {
                if (!o.has(f)) {
                    throw new IllegalArgumentException(predMerge + " line " + (i + 1) + ": no " + f);
                }
            }
            out.add(new QaSet(o.get("question_id").getAsString(), o.get("question"), o.get("answer"), o.get("pred")));
        }
        return out;
    }

    /** The request of one question as the reference builds it. */
    public static JsonObject request(QaSet qa, String model) {
        JsonArray messages = new JsonArray();
        messages.add(PyJson.object("role", "system", "content", SYSTEM_PROMPT));
        messages.add(PyJson.object("role", "user", "content", String.format(Locale.ROOT, USER_PROMPT, pyStr(qa.question()),
                pyStr(qa.answer()), pyStr(qa.pred()))));
        JsonObject body = PyJson.object("model", model, "messages", messages, "max_tokens", MAX_TOKENS);
        return PyJson.object("custom_id", qa.id(), "method", "POST", "url", "/v1/chat/completions", "body", body);
    }

    /**
     * Writes the request file(s) for {@code predMerge} to {@code target} (one file, or {@code <stem>_0.jsonl},
     * {@code <stem>_1.jsonl}, ... when the reference would split the upload). Nothing is sent anywhere.
     */
    public static Prepared prepare(Path predMerge, Path target, String model) {
        List<QaSet> qs = read(predMerge);
        List<List<String>> files = new ArrayList<>();
        List<String> current = new ArrayList<>();
        double mib = 0;
        for (QaSet qa : qs) {
            String line = PyJson.dumps(request(qa, model));
            double size = line.length() / 1024.0 / 1024.0;
            if (!current.isEmpty() && (mib + size > MAX_MIB_PER_FILE || current.size() > MAX_REQUESTS_PER_FILE)) {
                files.add(current);
                current = new ArrayList<>();
                mib = 0;
            }
            current.add(line);
            mib += size;
        }
        files.add(current);
        List<Path> written = new ArrayList<>();
        if (files.size() == 1) {
            ChunkFiles.writeAtomically(target, files.get(0));
            written.add(target);
        } else {
            String name = target.getFileName().toString().replaceFirst("\\.jsonl$", "");
            for (int i = 0; i < files.size(); i++) {
                Path p = target.resolveSibling(name + "_" + i + ".jsonl");
                ChunkFiles.writeAtomically(p, files.get(i));
                written.add(p);
            }
        }
        return new Prepared(written, qs.size());
    }

    /** Python's {@code str()} of a JSON value, as the reference's f-string puts it in the prompt. */
    static String pyStr(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return "None";
        }
        if (e.isJsonPrimitive()) {
            JsonPrimitive p = e.getAsJsonPrimitive();
            if (p.isBoolean()) {
                return p.getAsBoolean() ? "True" : "False";
            }
            return p.getAsString();
        }
        return pyRepr(e);
    }

    private static String pyRepr(JsonElement e) {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            String s = e.getAsString();
            boolean dq = s.contains("'") && !s.contains("\"");
            String q = dq ? "\"" : "'";
            StringBuilder sb = new StringBuilder(q);
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    default -> sb.append(!dq && c == '\'' ? "\\'" : String.valueOf(c));
                }
            }
            return sb.append(q).toString();
        }
        if (e.isJsonArray()) {
            List<String> parts = new ArrayList<>();
            e.getAsJsonArray().forEach(x -> parts.add(pyRepr(x)));
            return "[" + String.join(", ", parts) + "]";
        }
        if (e.isJsonObject()) {
            List<String> parts = new ArrayList<>();
            e.getAsJsonObject().entrySet().forEach(x -> parts.add(pyRepr(new JsonPrimitive(x.getKey())) + ": "
                    + pyRepr(x.getValue())));
            return "{" + String.join(", ", parts) + "}";
        }
        return pyStr(e);
    }

    /** The verdict of one reply's content: the dict the judge was asked for, else no / 0 (unparsed). */
    public static Verdict verdict(String content) {
        if (content == null) {
            return Verdict.NO;
        }
        Object v;
        try {
            v = PythonLiteral.parse(content);
        } catch (PythonLiteral.NotALiteral e) {
            return Verdict.NO;
        }
        if (!(v instanceof Map<?, ?> m) || !m.containsKey("pred") || !m.containsKey("score")) {
            return Verdict.NO;
        }
        Object pred = m.get("pred");
        Object score = m.get("score");
        if (!(pred instanceof String p) || !(score instanceof Number || score instanceof Boolean)) {
            return Verdict.NO;
        }
        // Python counts True as 1 when summing scores
        Number s = score instanceof Boolean b ? (Number) (b ? 1L : 0L) : (Number) score;
        return new Verdict(p, s, true);
    }

    /**
     * Reads the batch output file(s) {@code replies} for the questions of {@code predMerge}, writes
     * {@code output} (the reference's {@code <benchmark>_gpt.json}) and returns the scores.
     */
    public static Collected collect(Path predMerge, List<Path> replies, Path output) {
        List<QaSet> qs = read(predMerge);
        Map<String, QaSet> byId = new LinkedHashMap<>();
        qs.forEach(q -> byId.put(q.id(), q));
        Map<String, Verdict> got = new LinkedHashMap<>();
        int unknown = 0;
        for (Path f : replies) {
            List<String> lines;
            try {
                lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f, e);
            }
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).isBlank()) {
                    continue;
                }
                JsonObject o;
                try {
                    o = JsonParser.parseString(lines.get(i)).getAsJsonObject();
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException(f + " line " + (i + 1) + ": not a JSON object: " + e.getMessage(), e);
                }
                JsonElement id = o.get("custom_id");
                if (id == null || !id.isJsonPrimitive()) {
                    throw new IllegalArgumentException(f + " line " + (i + 1) + ": no custom_id (is it a batch output file?)");
                }
                if (!byId.containsKey(id.getAsString())) {
                    unknown++;
                    continue;
                }
                got.put(id.getAsString(), verdict(content(o)));
            }
        }
        JsonObject out = new JsonObject();
        Map<String, Verdict> verdicts = new LinkedHashMap<>();
        int yes = 0;
        int unparseable = 0;
        int missing = 0;
        double sum = 0;
        for (QaSet qa : qs) {
            Verdict v = got.get(qa.id());
            if (v == null) {
                missing++;
                v = Verdict.NO;
            } else if (!v.parsed()) {
                unparseable++;
            }
            verdicts.put(qa.id(), v);
            sum += v.score().doubleValue();
            yes += v.yes() ? 1 : 0;
            JsonArray pair = new JsonArray();
            pair.add(PyJson.object("pred", v.pred(), "score", v.score()));
            pair.add(PyJson.object("q", qa.question(), "a", qa.answer(), "pred", qa.pred()));
            out.add(qa.id(), pair);
        }
        ChunkFiles.writeAtomically(output, List.of(PyJson.dumps(out)));
        return new Collected(yes, qs.size() - yes, qs.isEmpty() ? 0 : sum / qs.size(), unparseable, missing, unknown, output,
                verdicts);
    }

    /** {@code response.body.choices[0].message.content}, or null when the line carries none (an error line). */
    private static String content(JsonObject line) {
        try {
            JsonElement c = line.getAsJsonObject("response").getAsJsonObject("body").getAsJsonArray("choices").get(0)
                    .getAsJsonObject().getAsJsonObject("message").get("content");
            return c == null || c.isJsonNull() ? null : c.getAsString();
        } catch (RuntimeException e) {
            return null;
        }
    }
}
