package dev.merv.llm.lora;

import dev.merv.llm.DecoderConfigs;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.train.CausalLmLoss;
import dev.merv.llm.llama.LlamaConfig;
import dev.merv.llm.llama.LlamaModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * LoRA against the plain-PyTorch fixture {@code lora-llama-tiny} (tools/lora/make_fixture.py): a tiny Llama whose
 * linear layers carry adapters written in PEFT's file layout. Logits, loss and the gradients of every
 * {@code lora_A} / {@code lora_B}; a fresh adapter (PEFT's init) leaves the model's output bitwise as it was;
 * merged weights give what the adapters give; an rsLoRA adapter on two layer kinds whose {@code target_modules} is
 * a regex loads and matches. Every size comes from the fixture's config and meta.
 */
class LoraFixtureTest {

    private static final String NAME = "lora-llama-tiny";

    static LlamaModel base(Fixture f, NDManager m) {
        LlamaConfig cfg = DecoderConfigs.parse(f.config(), f.name() + "/config.json");
        LlamaModel model = new LlamaModel(f.name(), cfg, m);
        model.load(f.model(), ScalarType.FLOAT32);
        return model;
    }

    static NDArray logits(LlamaModel model, Fixture f, NDManager m) {
        NDArray ids = f.io("input.input_ids", m);
        NDArray mask = f.io("input.attention_mask", m);
        return model.forward(model.embed(ids), mask, null, null);
    }

    private static JsonObject adapterMeta(Fixture f, String dir) {
        return f.meta().getAsJsonObject("lora").getAsJsonObject(dir);
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsString()));
        return out;
    }

    @Test
    void logitsLossAndAdapterGradientsMatch() {
        try (Fixture f = Fixture.openOwn(NAME); NDManager m = NDManager.newBaseManager(); var g = Torch.withGrad()) {
            LlamaModel model = base(f, m);
            Lora lora = PeftAdapters.load(model, f.dir().resolve("peft"), ScalarType.FLOAT32);
            JsonObject meta = adapterMeta(f, "peft");
            assertThat(lora.config().r()).isEqualTo(meta.get("r").getAsInt());
            assertThat(lora.config().alpha()).isEqualTo(meta.get("lora_alpha").getAsDouble());
            assertThat(lora.config().scaling()).isEqualTo(meta.get("scaling").getAsDouble());
            assertThat(lora.config().targets()).isEqualTo(strings(meta.getAsJsonArray("targets")));
            assertThat(lora.modulePaths()).containsExactlyInAnyOrderElementsOf(strings(meta.getAsJsonArray("adapted_layers")));
            // only the factors train: the base weights are frozen as the trainer freezes them
            model.setTrainable(false);
            lora.parameters().values().forEach(p -> p.setTrainable(true));

            NDArray logits = logits(model, f, m);
            f.assertMatches("output.logits", logits);
            NDArray loss = CausalLmLoss.mean(CausalLmLoss.sum(logits, f.io("input.labels", m)));
            f.assertMatches("output.loss", loss);
            JniUtils.backward((PtNDArray) loss, (PtNDArray) loss.onesLike(), false, false);

            Map<String, Param> params = model.namedParameters();
            List<String> grads = f.metaList("grads");
            assertThat(grads).hasSize(2 * lora.modulePaths().size());
            for (String grad : grads) {
                Param p = params.get(grad.substring("grad.".length()));
                assertThat(p).as(grad).isNotNull();
                try (NDArray gr = p.get().getGradient()) {
                    f.assertMatches(grad, gr);
                }
            }
            // frozen base weights get no gradient
            assertThat(Linear.adapterParameters(model)).hasSize(grads.size());
            assertThat(JniUtils.getGradient((PtNDArray) model.linears().values().iterator().next().weight().get())).isNull();
        }
    }

    @Test
    void freshAdaptersLeaveTheOutputBitwiseAsTheBaseModelsAndAreInitialisedAsPeft() {
        try (Fixture f = Fixture.openOwn(NAME); NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            LlamaModel model = base(f, m);
            NDArray before = logits(model, f, m);
            f.assertMatches("output.logits_base", before);
            JsonObject meta = adapterMeta(f, "peft");
            LoraConfig cfg = LoraConfig.of(meta.get("r").getAsInt(), meta.get("lora_alpha").getAsDouble());
            Lora lora = Lora.apply(model, cfg);
            lora.initialize(11, m);
            assertThat(lora.modulePaths()).hasSize(model.linears().size());

            float[] want = before.toFloatArray();
            float[] got = logits(model, f, m).toFloatArray();
            assertThat(got.length).isEqualTo(want.length);
            for (int i = 0; i < want.length; i++) {
                if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                    throw new AssertionError("logit " + i + " is " + got[i] + " with fresh adapters, " + want[i] + " without");
                }
            }
            // A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform_ with a = sqrt(5)), B = 0
            Map<String, Linear> linears = model.linears();
            for (String path : lora.modulePaths()) {
                int in = linears.get(path).inFeatures();
                float[] a = lora.parameters().get(path + ".lora_A.weight").get().toFloatArray();
                float[] b = lora.parameters().get(path + ".lora_B.weight").get().toFloatArray();
                double bound = 1 / Math.sqrt(in);
                double mean = 0;
                double sq = 0;
                for (float v : a) {
                    assertThat(Math.abs(v)).as(path + " lora_A").isLessThanOrEqualTo((float) bound);
                    mean += v;
                    sq += v * v;
                }
                mean /= a.length;
                // the uniform's variance bound^2/3, within sampling error for r*in draws
                assertThat(sq / a.length).as(path + " lora_A variance").isCloseTo(bound * bound / 3,
                        org.assertj.core.data.Offset.offset(bound * bound / Math.sqrt(a.length)));
                assertThat(Math.abs(mean)).isLessThan(3 * bound / Math.sqrt(a.length));
                for (float v : b) {
                    assertThat(v).as(path + " lora_B").isZero();
                }
            }
        }
    }

    @Test
    void mergedWeightsGiveWhatTheAdaptersGive() {
        try (Fixture f = Fixture.openOwn(NAME); NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            LlamaModel model = base(f, m);
            PeftAdapters.load(model, f.dir().resolve("peft"), ScalarType.FLOAT32);
            NDArray unmerged = logits(model, f, m);
            int n = Lora.merge(model);
            assertThat(n).isEqualTo(adapterMeta(f, "peft").getAsJsonArray("adapted_layers").size());
            assertThat(Lora.of(model)).isNull();
            assertThat(Linear.adapterParameters(model)).isEmpty();
            assertThat(model.namedParameters().keySet()).noneMatch(k -> k.contains("lora_"));
            NDArray merged = logits(model, f, m);
            f.assertMatches("output.logits_merged", merged);
            Fixture.Tolerance tol = f.tolerance("output.logits_merged");
            Compare.assertClose("merged vs unmerged", merged, unmerged, tol.atol(), tol.rtol());
            // the merged model is a plain decoder again: it saves and loads as an HF checkpoint
            assertThat(model.weightTable().keySet()).isEqualTo(base(f, m).weightTable().keySet());
        }
    }

    @Test
    void anRsLoraAdapterOnSomeLayersWithARegexTargetLoads() {
        try (Fixture f = Fixture.openOwn(NAME); NDManager m = NDManager.newBaseManager(); var ng = Torch.noGrad()) {
            LlamaModel model = base(f, m);
            Path dir = f.dir().resolve("peft-rslora");
            Lora lora = PeftAdapters.load(model, dir, ScalarType.FLOAT32);
            JsonObject meta = adapterMeta(f, "peft-rslora");
            assertThat(lora.config().rslora()).isTrue();
            assertThat(lora.config().r()).isEqualTo(meta.get("r").getAsInt());
            assertThat(lora.config().scaling()).isCloseTo(meta.get("scaling").getAsDouble(),
                    org.assertj.core.data.Offset.offset(1e-12));
            assertThat(lora.config().targets()).isEqualTo(strings(meta.getAsJsonArray("targets")));
            assertThat(lora.modulePaths()).containsExactlyInAnyOrderElementsOf(
                    strings(meta.getAsJsonArray("adapted_layers")));
            f.assertMatches("output.logits_rslora", logits(model, f, m));
        }
    }
}
