package dev.merv.llm.llama;

import dev.merv.llm.DecoderConfigs;
import dev.merv.core.train.CausalLmLoss;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.engine.PtNDArray;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** HF LlamaForCausalLM / Qwen2ForCausalLM parity: logits, loss, listed grads, layer outputs, RoPE tables. */
public class LlmFixtureTest {

    public static LlamaModel build(Fixture f, NDManager m, ScalarType dtype) {
        LlamaConfig cfg = DecoderConfigs.parse(f.config(), f.name() + "/config.json");
        LlamaModel model = new LlamaModel(f.name(), cfg, m);
        model.load(f.model(), dtype);
        return model;
    }

    /**
     * Forwards leave no array in the manager holding the weights (fp32 and bf16 weights), after the first one has
     * built what the model caches (the rotary tables): everything else lives in the caller's scope.
     */
    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void forwardLeavesNothingInTheWeightsManager(String name) {
        for (ScalarType t : new ScalarType[] {ScalarType.FLOAT32, ScalarType.BFLOAT16}) {
            try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager()) {
                LlamaModel model = build(f, m, t);
                int before = -1;
                for (int i = 0; i < 4; i++) {
                    if (i == 1) {
                        before = m.getManagedArrays().size();
                    }
                    try (Torch.GradMode g = Torch.noGrad(); NDManager step = m.newSubManager()) {
                        model.forward(model.embed(f.io("input.input_ids", step)), f.io("input.attention_mask", step), null, null);
                    }
                }
                assertThat(m.getManagedArrays().size()).as("%s: arrays left in the weights' manager by 3 %s forwards", name, t)
                        .isEqualTo(before);
            }
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void logitsLossAndGradsMatch(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager();
                Torch.GradMode g = Torch.withGrad()) {
            LlamaModel model = build(f, m, ScalarType.FLOAT32);
            NDArray ids = f.io("input.input_ids", m);
            NDArray mask = f.io("input.attention_mask", m);
            NDArray labels = f.io("input.labels", m);

            NDArray h = model.embed(ids);
            f.assertMatches("hidden.embeddings", h);
            NDArray logits;
            try (LanguageModel.LayerContext ctx = model.prepare(mask, null, null, (int) ids.getShape().get(1))) {
                for (int i = 0; i < model.numLayers(); i++) {
                    h = model.layer(i, h, ctx);
                    String hidden = "hidden.layer_" + i + "_out";
                    if (f.metaList("hidden").contains(hidden)) {
                        f.assertMatches(hidden, h);
                    }
                }
                logits = model.head(h);
            }
            f.assertMatches("output.logits", logits);
            NDArray loss = CausalLmLoss.mean(CausalLmLoss.sum(logits, labels));
            f.assertMatches("output.loss", loss);

            JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);
            Map<String, Param> params = model.namedParameters();
            assertThat(f.metaList("grads")).isNotEmpty();
            for (String grad : f.metaList("grads")) {
                String path = grad.substring("grad.".length());
                Param p = params.get(path);
                assertThat(p).as("parameter %s of %s", path, name).isNotNull();
                try (NDArray gr = p.get().getGradient()) {
                    f.assertMatches(grad, gr);
                }
            }
        }
    }

    /**
     * A row with no real token at all (every query fully masked): HF's eager path would give it uniform
     * attention, its SDPA path unmasks it; ours unmasks it too, so it stays finite and leaves other rows alone.
     * The all-padding row is appended to the fixture's batch (a copy of row 0 with a zero mask), so the fixture's
     * own rows, whatever their number, must keep their reference logits.
     */
    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void fullyMaskedRowStaysFiniteAndIsolated(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager(); Torch.GradMode g = Torch.noGrad()) {
            LlamaModel model = build(f, m, ScalarType.FLOAT32);
            NDArray ids = f.io("input.input_ids", m);
            NDArray mask = f.io("input.attention_mask", m);
            long rows = ids.getShape().get(0);
            NDArray allIds = ids.concat(ids.get("0:1"), 0);
            NDArray allMask = mask.concat(mask.get("0:1").zerosLike(), 0);
            NDArray logits = model.forward(model.embed(allIds), allMask, null, null);
            for (float v : logits.toFloatArray()) {
                assertThat(Float.isFinite(v)).as("logits of %s with an all-padding row", name).isTrue();
            }
            NDArray expected = f.ioFloat("output.logits", m);
            Fixture.Tolerance tol = f.tolerance("output.logits");
            Compare.assertClose(name + " rows 0.." + (rows - 1) + " unaffected", logits.get("0:" + rows), expected, tol.atol(),
                    tol.rtol());
        }
    }

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"llama2-tiny", "llama3-tiny", "qwen2-tiny"})
    void rotaryTablesMatch(String name) {
        try (Fixture f = Fixture.open(name); NDManager m = Fixture.newManager()) {
            LlamaConfig cfg = DecoderConfigs.parse(f.config(), name);
            LlamaModel model = new LlamaModel(name, cfg, m);
            float[] inv = model.rope().invFreq();
            NDArray expectedInv = f.ioFloat("hidden.rope_inv_freq", m);
            Fixture.Tolerance tol = f.tolerance("hidden.rope_inv_freq");
            Compare.assertClose(name + ":inv_freq", inv, expectedInv.toFloatArray(), new long[] {inv.length},
                    tol.atol(), tol.rtol());
            NDArray expCos = f.ioFloat("hidden.rope_cos", m);
            long t = expCos.getShape().get(0);
            NDArray pos = m.arange(0L, t, 1L, ai.djl.ndarray.types.DataType.INT64).reshape(1, t);
            NDArray[] cs = model.rope().cosSin(pos, ScalarType.FLOAT32, m);
            f.assertMatches("hidden.rope_cos", cs[0].reshape(expCos.getShape()));
            f.assertMatches("hidden.rope_sin", cs[1].reshape(expCos.getShape()));
        }
    }
}
