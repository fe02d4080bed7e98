package dev.merv.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The offline judge: the request file is the reference's byte for byte, one request per question; replies are read as
 * Python literals the way the reference reads them, with unparseable and missing replies scored no / 0 and counted.
 */
class JudgeTest {

    static String resource(String name) throws IOException {
        try (InputStream in = JudgeTest.class.getResourceAsStream("/eval/" + name)) {
            assertThat(in).as("test resource eval/%s", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
    }

    @Test
    void aRequestIsTheReferencesLineByteForByte() throws IOException {
        Judge.QaSet qa = new Judge.QaSet("q7", new com.google.gson.JsonPrimitive("what is the man doing?"),
                new com.google.gson.JsonPrimitive("cooking"),
                new com.google.gson.JsonPrimitive("He is cooking \"pasta\" \u2013 quickly."));
        assertThat(PyJson.dumps(Judge.request(qa, Judge.DEFAULT_MODEL))).isEqualTo(resource("judge-request.expected.jsonl"));
    }

    @Test
    void repliesAreReadAsPythonLiteralsLikeTheReference() throws Exception {
        assertThat(PythonLiteral.parse("{'pred': 'yes', 'score': 4}")).isEqualTo(Map.of("pred", "yes", "score", 4L));
        assertThat(PythonLiteral.parse("  {'pred': 'no', 'score': 0}\n")).isEqualTo(Map.of("pred", "no", "score", 0L));
        assertThat(PythonLiteral.parse("{\"pred\": \"yes\", \"score\": 4.5}")).isEqualTo(Map.of("pred", "yes", "score", 4.5));
        assertThat(PythonLiteral.parse("{'pred': 'yes', 'score': 4,}")).isEqualTo(Map.of("pred", "yes", "score", 4L));
        assertThat(PythonLiteral.parse("({'pred': 'yes', 'score': 4})")).isEqualTo(Map.of("pred", "yes", "score", 4L));
        assertThat(PythonLiteral.parse("{'pred': 'y' 'es', 'score': -1}")).isEqualTo(Map.of("pred", "yes", "score", -1L));
        assertThat(PythonLiteral.parse("[1, (2,), None, True, 'a\\'b']")).isEqualTo(java.util.Arrays.asList(1L, List.of(2L),
                null, true, "a'b"));

        assertThat(Judge.verdict("{'pred': 'yes', 'score': 4}")).isEqualTo(new Judge.Verdict("yes", 4L, true));
        // not literals in Python either: a fence, text around the dict
        assertThat(Judge.verdict("```python\n{'pred': 'yes', 'score': 4}\n```").parsed()).isFalse();
        assertThat(Judge.verdict("The answer: {'pred': 'yes', 'score': 4}").parsed()).isFalse();
        // literals but not the dict asked for
        assertThat(Judge.verdict("{'pred': 'yes'}")).isEqualTo(new Judge.Verdict("no", 0L, false));
        assertThat(Judge.verdict("{'pred': 'yes', 'score': '4'}").parsed()).isFalse();
        assertThat(Judge.verdict("['pred', 'score']").parsed()).isFalse();
        assertThat(Judge.verdict(null).parsed()).isFalse();
        // the reference's accuracy rule: 'yes' in pred.lower()
        assertThat(Judge.verdict("{'pred': 'Yes, mostly', 'score': 3}").yes()).isTrue();
        assertThat(Judge.verdict("{'pred': 'no', 'score': 3}").yes()).isFalse();
    }

    @Test
    void prepareWritesOneRequestPerQuestionAndCollectScoresTheReplies(@TempDir Path tmp) throws IOException {
        Path pred = tmp.resolve("MSVD_pred_merge.jsonl");
        Files.write(pred, List.of(
                "{\"video_name\": \"v0\", \"question_id\": \"0\", \"question\": \"what is it?\", \"pred\": \"a cat\", \"answer\": \"cat\"}",
                "{\"video_name\": \"v1\", \"question_id\": \"1\", \"question\": \"who?\", \"pred\": \"a man\", \"answer\": \"man\"}",
                "{\"video_name\": \"v2\", \"question_id\": \"2\", \"question\": \"where?\", \"pred\": \"home\", \"answer\": \"kitchen\"}",
                "{\"video_name\": \"v3\", \"question_id\": \"3\", \"question\": \"how many?\", \"pred\": \"2\", \"answer\": 2}",
                "{\"video_name\": \"v4\", \"question_id\": \"4\", \"question\": \"what?\", \"pred\": \"x\", \"answer\": \"y\"}"),
                StandardCharsets.UTF_8);
        assertThat(Judge.benchmarkOf(pred)).isEqualTo("MSVD");
        Path requests = tmp.resolve("MSVD_gpt_batch_input.jsonl");
        Judge.Prepared p = Judge.prepare(pred, requests, Judge.DEFAULT_MODEL);
        assertThat(p.files()).containsExactly(requests);
        List<String> lines = Files.readAllLines(requests);
        assertThat(lines).hasSize(5);
        for (int i = 0; i < 5; i++) {
            JsonObject r = JsonParser.parseString(lines.get(i)).getAsJsonObject();
            assertThat(r.get("custom_id").getAsString()).isEqualTo(String.valueOf(i));
            assertThat(r.get("method").getAsString()).isEqualTo("POST");
            assertThat(r.get("url").getAsString()).isEqualTo("/v1/chat/completions");
            JsonObject body = r.getAsJsonObject("body");
            assertThat(body.get("model").getAsString()).isEqualTo("gpt-4o-mini-2024-07-18");
            assertThat(body.get("max_tokens").getAsInt()).isEqualTo(500);
            JsonArray msgs = body.getAsJsonArray("messages");
            assertThat(msgs.get(0).getAsJsonObject().get("content").getAsString()).isEqualTo(Judge.SYSTEM_PROMPT);
        }
        // a number answer is put in the prompt as Python's str() puts it
        assertThat(lines.get(3)).contains("Correct Answer: 2\\nPredicted Answer: 2\\n");

        // the batch output: 0 yes/5, 1 no/1, 2 unparseable, 3 missing, 4 an error line; plus a reply to no question
        Path replies = tmp.resolve("out.jsonl");
        Files.write(replies, List.of(reply("0", "{'pred': 'yes', 'score': 5}"), reply("1", "{'pred': 'no', 'score': 1}"),
                reply("2", "Sure! {'pred': 'yes', 'score': 4}"),
                "{\"id\": \"b4\", \"custom_id\": \"4\", \"response\": null, \"error\": {\"code\": \"server_error\"}}",
                reply("99", "{'pred': 'yes', 'score': 5}")), StandardCharsets.UTF_8);
        Path out = tmp.resolve("MSVD_gpt.json");
        Judge.Collected c = Judge.collect(pred, List.of(replies), out);
        assertThat(c.yes()).isEqualTo(1);
        assertThat(c.no()).isEqualTo(4);
        assertThat(c.accuracy()).isEqualTo(0.2);
        assertThat(c.meanScore()).isEqualTo(6 / 5.0);
        assertThat(c.unparseable()).isEqualTo(2);
        assertThat(c.missing()).isEqualTo(1);
        assertThat(c.unknown()).isEqualTo(1);
        JsonObject gpt = JsonParser.parseString(Files.readString(out)).getAsJsonObject();
        assertThat(gpt.keySet()).containsExactly("0", "1", "2", "3", "4");
        assertThat(gpt.getAsJsonArray("0").get(0).toString()).isEqualTo("{\"pred\":\"yes\",\"score\":5}");
        assertThat(gpt.getAsJsonArray("3").get(0).toString()).isEqualTo("{\"pred\":\"no\",\"score\":0}");
        assertThat(gpt.getAsJsonArray("0").get(1).toString()).isEqualTo("{\"q\":\"what is it?\",\"a\":\"cat\",\"pred\":\"a cat\"}");
    }

    @Test
    void aLargeRequestSetIsSplitAsTheReferenceSplitsItsUploads(@TempDir Path tmp) throws IOException {
        Path pred = tmp.resolve("big_pred_merge.jsonl");
        StringBuilder sb = new StringBuilder();
        int n = Judge.MAX_REQUESTS_PER_FILE + 5;
        for (int i = 0; i < n; i++) {
            sb.append("{\"question_id\": ").append(i).append(", \"question\": \"q\", \"answer\": \"a\", \"pred\": \"p\"}\n");
        }
        Files.writeString(pred, sb);
        Judge.Prepared p = Judge.prepare(pred, tmp.resolve("big_gpt_batch_input.jsonl"), "m");
        assertThat(p.files()).extracting(f -> f.getFileName().toString())
                .containsExactly("big_gpt_batch_input_0.jsonl", "big_gpt_batch_input_1.jsonl");
        assertThat(Files.readAllLines(p.files().get(0))).hasSize(Judge.MAX_REQUESTS_PER_FILE + 1);
        assertThat(p.requests()).isEqualTo(n);
    }

    private static String reply(String id, String content) {
        JsonObject msg = PyJson.object("role", "assistant", "content", content);
        JsonArray choices = new JsonArray();
        choices.add(PyJson.object("index", 0, "message", msg));
        JsonObject body = PyJson.object("model", "gpt-4o-mini-2024-07-18", "choices", choices);
        return PyJson.dumps(PyJson.object("id", "batch_req_" + id, "custom_id", id,
                "response", PyJson.object("status_code", 200, "body", body), "error", com.google.gson.JsonNull.INSTANCE));
    }
}
