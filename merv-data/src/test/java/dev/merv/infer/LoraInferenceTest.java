package dev.merv.infer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.SplicedInputs;
import dev.merv.core.nn.Linear;
import dev.merv.core.text.Tokenizer;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.Checkpoints;
import dev.merv.core.weights.SafeTensors;
import dev.merv.llm.lora.Lora;
import dev.merv.train.TinySetup;
import dev.merv.train.TrainingResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inference on a LoRA run of merv-tiny: {@link MervInference#load} puts the run's adapters back on the LLM, with the
 * checkpoint's values, and answers as the live model did; without them the LLM computes something else; merged into
 * the weights they give the same logits up to rounding; the checkpoint's PEFT files load onto a bare LLM as well.
 */
class LoraInferenceTest {

    private static final String PROMPT = "What colour is the moving shape?";

    @Test
    void aLoraRunLoadsWithItsAdaptersAppliedUnmergedOrMerged(@TempDir Path runs) throws Exception {
        TinySetup tiny = TinySetup.get();
        LoraConfig lora = LoraConfig.of(8, 16);
        List<String> live = new ArrayList<>();
        List<float[]> liveLogits = new ArrayList<>();
        TrainingResult r = tiny.training(runs).stage(Stage.FINETUNE).lora(lora).maxSteps(3).learningRate(1e-2)
                .runId("lora-infer")
                .afterTraining(m -> {
                    try (MervInference held = MervInference.of(m)) {
                        live.add(held.generate(tiny.video(0), PROMPT, held.greedy(6), null).text());
                        liveLogits.add(nextTokenLogits(held, tiny.video(0)));
                    }
                })
                .build().run();

        // fp32 as training computed: the checkpoint's values and the live model's answers compare exactly
        MervInference.Options fp32 = MervInference.Options.defaults().withPrecision(dev.merv.core.model.Precision.FP32);
        try (MervInference model = MervInference.load(r.runDir(), fp32);
                MervInference bare = MervInference.load(r.runDir(), fp32)) {
            Lora applied = model.lora();
            assertThat(applied).isNotNull();
            assertThat(applied.config()).isEqualTo(lora);
            try (SafeTensors st = SafeTensors.open(Checkpoints.modelFile(r.checkpoint())); NDManager m = NDManager.newBaseManager()) {
                applied.parameters().forEach((n, p) -> assertThat(Torch.toFloatArray(p.get())).as(n)
                        .containsExactly(st.load("llm_backbone.llm." + n, m, ScalarType.FLOAT32).toFloatArray()));
            }
            float[] with = nextTokenLogits(model, tiny.video(0));
            assertThat(with).containsExactly(liveLogits.get(0));
            assertThat(model.generate(tiny.video(0), PROMPT, model.greedy(6), null).text()).isEqualTo(live.get(0));

            // the same run without its adapters computes something else: the adapters are in use
            bare.lora().remove();
            assertThat(bare.lora()).isNull();
            assertThat(maxDiff(nextTokenLogits(bare, tiny.video(0)), with)).isGreaterThan(1e-3);
            // the checkpoint is a PEFT adapter directory too: loaded onto the bare LLM it gives the adapters back
            bare.loadAdapter(r.checkpoint());
            assertThat(nextTokenLogits(bare, tiny.video(0))).containsExactly(with);

            int layers = applied.modulePaths().size();
            assertThat(model.mergeLora()).isEqualTo(layers);
            assertThat(model.lora()).isNull();
            assertThat(Linear.adapterParameters(model.model().llm().module())).isEmpty();
            assertThat(maxDiff(nextTokenLogits(model, tiny.video(0)), with)).isLessThan(1e-5);
        }
    }

    /** The logits of the first answer token for {@link #PROMPT} about {@code video}, as {@code generate} computes them. */
    static float[] nextTokenLogits(MervInference model, Path video) {
        Merv merv = model.model();
        Tokenizer tok = merv.llm().text().tokenizer();
        long[] ids = tok.encode(merv.llm().text().inferencePrompt("<video>\n" + PROMPT), true);
        try (NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            NDArray inputIds = m.create(ids, new Shape(1, ids.length));
            NDArray mask = m.ones(new Shape(1, ids.length), DataType.BOOLEAN);
            long[] lab = new long[ids.length];
            Arrays.fill(lab, MervBatch.IGNORE_INDEX);
            MervBatch batch = new MervBatch(inputIds, mask, m.create(lab, new Shape(1, ids.length)),
                    MediaInputs.pixels(merv, video, m), new int[] {0}, new boolean[] {false}, 0, m.newSubManager());
            SplicedInputs in = merv.splice(batch);
            NDArray logits = merv.llm().forward(in.embeddings(), in.attentionMask(), null, null);
            long t = logits.getShape().get(1);
            return Torch.toFloatArray(logits.get("0, " + (t - 1)));
        } catch (dev.merv.data.check.SampleException e) {
            throw new AssertionError(e);
        }
    }

    private static double maxDiff(float[] a, float[] b) {
        assertThat(a.length).isEqualTo(b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
