package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.data.synth.SynthDataset;
import dev.merv.examples.demo.Demo;
import dev.merv.core.model.Precision;
import dev.merv.infer.MervInference;
import dev.merv.infer.OptionScorer;
import dev.merv.core.weights.BackboneWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded demo, shrunk (8 videos, 4 held back, {@link #STEPS} steps): it runs through, its last line
 * states what the run did, the loss falls, and the "after" accuracy is what the trained checkpoint answers.
 */
class DemoSmokeTest {

    static final int STEPS = 24;
    static final int HELD_BACK = 4;

    @Test
    void demoTrainsAndReportsWhatTheTrainedModelAnswers(@TempDir Path tmp) throws Exception {
        Demo.Result r = Demo.run(new Demo.Settings(tmp, 8, HELD_BACK, STEPS, 1, 2, 3e-3));
        Matcher line = Pattern.compile("demo: accuracy before (\\d+)% after (\\d+)% on (\\d+) held-back questions, loss "
                + "([0-9.]+) -> ([0-9.]+), plot (.+)").matcher(r.line());
        assertThat(line.matches()).as(r.line()).isTrue();
        assertThat(r.questions()).isEqualTo(HELD_BACK);
        assertThat(Integer.parseInt(line.group(3))).isEqualTo(HELD_BACK);
        // accuracies are a count of right answers out of the questions, printed as they are
        for (double acc : new double[] {r.accuracyBefore(), r.accuracyAfter()}) {
            double right = acc * HELD_BACK;
            assertThat(Math.abs(right - Math.rint(right))).as("accuracy %s is k/%d", acc, HELD_BACK).isLessThan(1e-9);
        }
        assertThat(Integer.parseInt(line.group(1))).isEqualTo((int) Math.round(100 * r.accuracyBefore()));
        assertThat(Integer.parseInt(line.group(2))).isEqualTo((int) Math.round(100 * r.accuracyAfter()));

        // the losses are the run's own (metrics.jsonl), means of its first and last ten steps, and training lowers them
        List<Double> losses = new ArrayList<>();
        for (String l : Files.readAllLines(tmp.resolve("runs/demo/metrics.jsonl"))) {
            JsonObject o = l.isBlank() ? null : JsonParser.parseString(l).getAsJsonObject();
            if (o != null && !o.has("event")) { // the invocation's start line says how the run began, not a step
                losses.add(o.get("loss").getAsDouble());
            }
        }
        assertThat(losses).hasSize(STEPS);
        assertThat(r.firstLoss()).isCloseTo(mean(losses.subList(0, 10)), org.assertj.core.data.Offset.offset(1e-9));
        assertThat(r.lastLoss()).isCloseTo(mean(losses.subList(STEPS - 10, STEPS)), org.assertj.core.data.Offset.offset(1e-9));
        assertThat(line.group(4)).isEqualTo(String.format(Locale.ROOT, "%.3f", r.firstLoss()));
        assertThat(line.group(5)).isEqualTo(String.format(Locale.ROOT, "%.3f", r.lastLoss()));
        assertThat(r.lastLoss()).as("mean loss of the last 10 steps below the first 10's").isLessThan(0.9 * r.firstLoss());

        // "after" is what the run's checkpoint answers, each held-back question scored on its own (in fp32, the
        // precision the demo trained and scored in)
        Path heldBack = tmp.resolve("heldback");
        JsonArray rows = JsonParser.parseString(Files.readString(heldBack.resolve("videochatgpt_llavaimage_tune.json")))
                .getAsJsonArray();
        int right = 0;
        int asked = 0;
        try (MervInference model = MervInference.load(tmp.resolve("runs/demo"),
                MervInference.Options.defaults().withWeights(BackboneWeights.root(tmp.resolve("weights"))).withPlaceholder(false)
                        .withPrecision(Precision.FP32))) {
            for (JsonElement e : rows) {
                JsonObject o = e.getAsJsonObject();
                if (!o.has("video")) {
                    continue;
                }
                JsonArray conv = o.getAsJsonArray("conversations");
                String answer = conv.get(1).getAsJsonObject().get("value").getAsString();
                int want = Arrays.asList(SynthDataset.COLOURS).indexOf(answer);
                if (want < 0) {
                    continue;
                }
                int got = model.chooseOption(heldBack.resolve(o.get("video").getAsString()),
                        conv.get(0).getAsJsonObject().get("value").getAsString(), List.of(SynthDataset.COLOURS));
                assertThat(r.after().chosen()[asked]).as("question %d: after training, the checkpoint's choice", asked)
                        .isEqualTo(got);
                asked++;
                right += got == want ? 1 : 0;
            }
        }
        assertThat(asked).isEqualTo(HELD_BACK);
        assertThat(r.accuracyAfter()).as("the trained checkpoint's own answers").isEqualTo(right / (double) asked);

        // "before" and "after" are two models: the accuracies come from their own scores, and training moved the
        // held-back scores (a demo that scored one model twice, or reported one number as both, has equal scores)
        double moved = 0;
        for (Demo.Scored s : List.of(r.before(), r.after())) {
            assertThat(s.chosen()).hasSize(HELD_BACK);
            for (int q = 0; q < HELD_BACK; q++) {
                assertThat(s.scores()[q]).hasSize(SynthDataset.COLOURS.length);
                assertThat(s.chosen()[q]).isEqualTo(OptionScorer.best(s.scores()[q]));
            }
            assertThat(s.right()).isBetween(0, HELD_BACK);
        }
        assertThat(r.accuracyBefore()).isEqualTo(r.before().accuracy());
        assertThat(r.accuracyAfter()).isEqualTo(r.after().accuracy());
        for (int q = 0; q < HELD_BACK; q++) {
            for (int c = 0; c < SynthDataset.COLOURS.length; c++) {
                moved = Math.max(moved, Math.abs(r.after().scores()[q][c] - r.before().scores()[q][c]));
            }
        }
        System.out.printf(Locale.ROOT, "DemoSmokeTest: largest change of a held-back candidate's score %.4f nats%n", moved);
        assertThat(moved).as("largest change of a held-back score by training (nats)").isGreaterThan(0.01);

        assertThat(r.plot()).isRegularFile();
        assertThat(line.group(6)).isEqualTo(r.plot().toString());
        byte[] png = Files.readAllBytes(r.plot());
        assertThat(png).hasSizeGreaterThan(8);
        assertThat(new String(png, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    }
}
