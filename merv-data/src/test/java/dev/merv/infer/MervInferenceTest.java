package dev.merv.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.config.Stage;
import dev.merv.core.model.Precision;
import dev.merv.data.video.ClipWindow;
import dev.merv.llm.generate.GenerationConfig;
import dev.merv.train.TinySetup;
import dev.merv.train.TrainingResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inference from Java on a short merv-tiny run: a run directory loads with the weights it recorded,
 * generation streams exactly the text it returns, says why it stopped, and is the same as a model built
 * from the live trainer's weights; option scoring picks an index.
 */
class MervInferenceTest {

    @Test
    void aTrainedRunLoadsAndAnswersAboutAVideo(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        List<String> live = new ArrayList<>();
        TrainingResult r = tiny.training(runs).stage(Stage.FINETUNE).maxSteps(3).learningRate(3e-3).runId("infer")
                .afterTraining(m -> {
                    try (MervInference held = MervInference.of(m)) {
                        live.add(held.generate(tiny.video(0), "What colour is the moving shape?", held.greedy(6), null)
                                .text());
                    }
                })
                .build().run();
        assertThat(r.steps()).hasSize(3);

        // the reference's inference precision by default (bf16 for merv-tiny's Llama-2-style LLM)
        try (MervInference model = MervInference.load(r.runDir())) {
            assertThat(((dev.merv.llm.llama.LlamaModel) model.model().llm()).computeDtype())
                    .isEqualTo(dev.merv.core.torch.ScalarType.BFLOAT16);
            assertThat(model.generate(tiny.video(0), "What colour is the moving shape?", model.greedy(3), null).tokens())
                    .hasSizeBetween(1, 3);
        }
        // no weights given: the run's weights.json says where the backbones are
        try (MervInference model = MervInference.load(r.runDir(), MervInference.Options.defaults()
                .withPrecision(Precision.FP32))) {
            List<String> pieces = new ArrayList<>();
            MervInference.Answer a = model.generate(tiny.video(0), "What colour is the moving shape?", model.greedy(6),
                    pieces::add);
            assertThat(String.join("", pieces).strip()).isEqualTo(a.text());
            assertThat(a.tokens().length).isBetween(1, 6);
            long eos = model.model().llm().text().tokenizer().eosId();
            if (a.finish() == MervInference.Answer.Finish.STOP_TOKEN) {
                assertThat(a.tokens()[a.tokens().length - 1]).isEqualTo(eos);
            } else {
                assertThat(a.tokens()).hasSize(6).doesNotContain(eos);
            }
            // the checkpoint reproduces the live model's greedy answer (fp32, same weights)
            assertThat(a.text()).isEqualTo(live.get(0));
            // the placeholder a training prompt starts with is added when missing, so both prompts agree
            MervInference.Answer explicit = model.generate(tiny.video(0), "<video>\nWhat colour is the moving shape?",
                    model.greedy(6), null);
            assertThat(explicit.tokens()).containsExactly(a.tokens());

            GenerationConfig sampled = GenerationConfig.sampling(4, 0.7, 0, 1.0, 5, Set.of(eos),
                    model.model().llm().text().tokenizer().padId());
            assertThat(model.generate(tiny.video(1), "Which way does it move?", sampled, null).tokens()).hasSizeBetween(1, 4);

            int chosen = model.chooseOption(tiny.video(0), "What colour is the moving shape?",
                    List.of("red", "green", "blue", "yellow", "purple"));
            assertThat(chosen).isBetween(0, 4);
        }
    }

    @Test
    void aDirectoryThatIsNoRunIsNamed(@TempDir Path dir) {
        assertThatThrownBy(() -> MervInference.load(dir)).hasMessageContaining("config.json").hasMessageContaining(
                dir.toString());
    }

    @Test
    void batchesAnswerAsSingleQuestionsAndEncodeEachVideoOnce(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        TrainingResult r = tiny.training(runs).stage(Stage.FINETUNE).maxSteps(2).learningRate(3e-3).runId("batch")
                .build().run();
        MervInference.Options fp32 = MervInference.Options.defaults().withPrecision(Precision.FP32).withPlaceholder(false);
        try (MervInference model = MervInference.load(r.runDir(), fp32)) {
            int k = model.model().config().maxFrames();
            List<MervInference.Query> qs = List.of(
                    new MervInference.Query(tiny.video(0), "<video>\nWhat colour is the moving shape?"),
                    new MervInference.Query(tiny.video(1), "<video>\nWhich way does it move?"),
                    new MervInference.Query(tiny.video(0), "<video>\nDescribe the video in a few words, please."),
                    new MervInference.Query(null, "What is two plus two?"),
                    new MervInference.Query(tiny.video(1), "<video>\nWhat colour is the shape?", ClipWindow.upToFrame(3)));
            List<MervInference.Answer> batch = model.generate(qs, model.greedy(5));
            // video 0, video 1, the zero video and video 1's first frames: four media items for five questions
            assertThat(model.mediaEncoded()).isEqualTo(4);
            for (int i = 0; i < qs.size(); i++) {
                MervInference.Answer one = model.generate(List.of(qs.get(i)), model.greedy(5)).get(0);
                assertThat(batch.get(i).tokens()).as("question %d batched vs alone", i).containsExactly(one.tokens());
                assertThat(batch.get(i).mixingWeights()).as("question %d fusion weights", i).hasSize(4);
            }
            // every media item was in the cache for the single-question runs
            assertThat(model.mediaEncoded()).isEqualTo(4);
            // prompts are cut at llm_max_length tokens, BOS kept, as the reference's tokenizer call truncates
            int max = model.model().config().llmMaxLength();
            long[] longPrompt = model.promptIds(new MervInference.Query(tiny.video(0), "colour ".repeat(max + 100)));
            assertThat(longPrompt).hasSize(max);
            assertThat(longPrompt[0]).isEqualTo(model.model().llm().text().tokenizer().bosId().getAsLong());
            // the window's frames: linspace(0, min(N-1, 3), K) for every encoder's positions
            int[][] frames = batch.get(4).frameIndices();
            assertThat(frames).hasNumberOfRows(model.model().encoders().size());
            for (int[] f : frames) {
                assertThat(f).isNotEmpty();
                for (int x : f) {
                    assertThat(x).isBetween(0, 3);
                }
            }
            assertThat(batch.get(0).frameIndices()[0]).isNotEmpty().contains(0);
            for (int[] f : batch.get(3).frameIndices()) {
                assertThat(f).isEmpty();
            }
            assertThat(k).isPositive();
        }
        // text-only questions without the zero video: no visual tokens, so no fusion weights
        try (MervInference model = MervInference.load(r.runDir(), fp32.withNoMedia(MervInference.NoMedia.TEXT_ONLY))) {
            List<MervInference.Answer> a = model.generate(List.of(new MervInference.Query(null, "Hello?"),
                    new MervInference.Query(tiny.video(0), "<video>\nWhat colour?")), model.greedy(3));
            assertThat(a.get(0).mixingWeights()).isNull();
            assertThat(a.get(1).mixingWeights()).hasSize(4);
            assertThat(model.mediaEncoded()).isEqualTo(1);
        }
    }

    @Test
    void theReferencesInferencePrecisionIsTheDefault() {
        var base = dev.merv.core.config.ModelRegistry.get("merv-base");
        assertThat(MervInference.referencePrecision(base)).isEqualTo(Precision.BF16);
        assertThat(MervInference.referencePrecision(base.toBuilder().llmBackboneId("qwen2.5-7b-instruct").build()))
                .as("W21").isEqualTo(Precision.FP16);
        assertThat(MervInference.Options.defaults().precision()).as("null = the reference's").isNull();
    }
}
