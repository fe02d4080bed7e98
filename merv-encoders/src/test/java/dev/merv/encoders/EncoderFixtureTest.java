package dev.merv.encoders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonObject;
import dev.merv.core.model.FrameTransform;
import dev.merv.core.nn.Param;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.encoders.dinov2.Dinov2;
import dev.merv.encoders.hiera.HieraConfig;
import dev.merv.encoders.hiera.HieraEncoder;
import dev.merv.encoders.languagebind.LanguageBindConfig;
import dev.merv.encoders.languagebind.LanguageBindEncoder;
import dev.merv.encoders.languagebind.LanguageBindTransform;
import dev.merv.encoders.siglip.Siglip;
import dev.merv.encoders.timm.TimmFrameEncoder;
import dev.merv.encoders.timm.TimmVitConfig;
import dev.merv.encoders.vivit.VivitConfig;
import dev.merv.encoders.vivit.VivitEncoder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every encoder family against its golden fixture: MERV features, every debug output and hidden
 * tensor the fixture lists, and the gradients of {@code output.sum_check} w.r.t. the listed
 * parameters and the input (autograd on; encoders are frozen in training but the math must agree).
 */
class EncoderFixtureTest {

    /** The encoder built from a fixture, the name of its input tensor and the fixture's parameter-name prefix. */
    private record Run(FrozenVideoEncoder encoder, String inputName, String paramPrefix) {}

    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"siglip-tiny", "dinov2-tiny", "languagebind-video-tiny", "hiera-video-tiny", "vivit-tiny"})
    void matchesFixture(String name) {
        try (Fixture fx = Fixture.open(name); NDManager m = Fixture.newManager()) {
            Run run = build(fx, m);
            FrozenVideoEncoder enc = run.encoder();
            String input = run.inputName();
            String prefix = run.paramPrefix();
            String featuresName = fx.metaList("outputs").contains("output.video_features") ? "output.video_features"
                    : "output.merv_features";
            List<String> checked = new ArrayList<>();

            // forward + backward with autograd on
            try (Torch.GradMode g = Torch.withGrad(); NDManager step = m.newSubManager()) {
                NDArray x = fx.ioFloat(input, step);
                x.setRequiresGradient(true);
                NDArray feats = enc.features(x);
                fx.assertMatches(featuresName, feats);
                checked.add(featuresName);
                NDArray w = fx.ioFloat("input.sum_check_weight", step);
                NDArray sum = feats.mul(w).sum();
                fx.assertMatches("output.sum_check", sum);
                checked.add("output.sum_check");
                try (NDArray seed = step.ones(sum.getShape())) {
                    JniUtils.backward((PtNDArray) sum, (PtNDArray) seed, false, false);
                }
                Map<String, Param> params = enc.module().namedParameters();
                for (String gname : fx.metaList("grads")) {
                    String target = gname.substring("grad.".length());
                    NDArray grad;
                    if (target.equals(input)) {
                        grad = x.getGradient();
                    } else {
                        String path = target.startsWith(prefix) ? target.substring(prefix.length()) : target;
                        Param p = params.get(path);
                        if (p == null) {
                            throw new AssertionError(name + ": fixture gradient " + gname + " names no parameter (" + path + ")");
                        }
                        grad = p.get().getGradient();
                    }
                    fx.assertMatches(gname, grad);
                    grad.close();
                    checked.add(gname);
                }
            }

            // debug outputs and hidden tensors, without autograd
            try (Torch.GradMode g = Torch.noGrad(); NDManager step = m.newSubManager()) {
                NDArray x = fx.ioFloat(input, step);
                Map<String, NDArray> debug = debugTensors(enc, x, fx);
                for (String key : fx.metaList("outputs")) {
                    if (checked.contains(key)) {
                        continue;
                    }
                    NDArray got = debug.get(key);
                    if (got == null) {
                        throw new AssertionError(name + ": output " + key + " not computed");
                    }
                    fx.assertMatches(key, got);
                    checked.add(key);
                }
                for (String key : fx.metaList("hidden")) {
                    NDArray got = debug.get(key);
                    if (got == null) {
                        throw new AssertionError(name + ": hidden tensor " + key + " not computed");
                    }
                    fx.assertMatches(key, got);
                    checked.add(key);
                }
                // the frozen path: encode() under no-grad gives the same features, laid out [B, T', N, C]
                NDArray enc4 = enc.encode(x);
                NDArray expected = fx.ioFloat(featuresName, step);
                assertEquals(4, enc4.getShape().dimension());
                fx.assertMatches(featuresName, enc4.reshape(expected.getShape()));
                assertFalse(enc4.hasGradient(), "encode() must not record autograd");
            }
            System.out.println(name + ": checked " + checked);
        }
    }

    /**
     * A frozen forward leaves nothing behind: every array it makes lives in the caller's scope, none in the manager
     * that holds the weights (a kernel reshaped or a position table expanded "from the weight" would land there and
     * grow native memory by one copy per step: the soak found three such).
     */
    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"siglip-tiny", "dinov2-tiny", "languagebind-video-tiny", "hiera-video-tiny", "vivit-tiny"})
    void encodeLeavesNothingInTheWeightsManager(String name) {
        try (Fixture fx = Fixture.open(name); NDManager m = Fixture.newManager()) {
            Run run = build(fx, m);
            // fp32, then bf16 (its own kernels: patch embeddings as one matmul)
            for (ScalarType t : new ScalarType[] {ScalarType.FLOAT32, ScalarType.BFLOAT16}) {
                run.encoder().castTo(t, m);
                int before = m.getManagedArrays().size();
                for (int i = 0; i < 3; i++) {
                    try (Torch.GradMode g = Torch.noGrad(); NDManager step = m.newSubManager()) {
                        NDArray x = fx.ioFloat(run.inputName(), step);
                        run.encoder().encode(t == ScalarType.FLOAT32 ? x : Torch.copy(x, t));
                    }
                }
                assertEquals(before, m.getManagedArrays().size(), name + ": arrays left in the weights' manager by 3 "
                        + t + " forwards");
            }
        }
    }

    /** Builds the fixture's encoder from its config.json and loads its model.safetensors. */
    private static Run build(Fixture fx, NDManager m) {
        String name = fx.name();
        JsonObject cfg = fx.config();
        String kind = cfg.get("fixture_kind").getAsString();
        String id = cfg.get("merv_backbone_id").getAsString();
        FrozenVideoEncoder enc;
        String input;
        String prefix;
        switch (kind) {
            case "timm-vit-siglip", "timm-vit-dinov2" -> {
                TimmVitConfig c = kind.endsWith("siglip") ? Siglip.config(cfg, name) : Dinov2.config(cfg, name);
                int frames = cfg.get("num_frames").getAsInt();
                FrameTransform tr = EncoderRegistry.transform(id, EncoderRegistry.Options.defaults()
                        .withImageSize(c.imgHeight(), c.imgWidth()));
                TimmFrameEncoder t = kind.endsWith("siglip") ? Siglip.encoder(id, c, c.imgHeight(), c.imgWidth(), frames, tr)
                        : Dinov2.encoder(id, c, c.imgHeight(), c.imgWidth(), frames, tr);
                assertEquals(cfg.get("featurizer_block_index").getAsInt(), t.blockIndex(), "featurizer block");
                t.loadWeights(fx.model(), "", m, null);
                enc = t;
                input = "input.video_values";
                prefix = "";
            }
            case "languagebind-video" -> {
                LanguageBindConfig c = LanguageBindConfig.fromJson(cfg, name);
                LanguageBindEncoder lb = new LanguageBindEncoder(id, c, cfg.get("video_frames").getAsInt(),
                        EncoderRegistry.transform(id, EncoderRegistry.Options.defaults().withImageSize(c.imageSize())
                                .withFlip(LanguageBindTransform.Flip.NEVER)));
                lb.loadWeights(fx.model(), "featurizer.", m, null);
                enc = lb;
                input = "input.video_values";
                prefix = "featurizer.";
            }
            case "hiera-video" -> {
                HieraConfig c = HieraConfig.fromJson(cfg, name);
                HieraEncoder h = new HieraEncoder(id, c, cfg.get("num_frames").getAsInt(), EncoderRegistry.transform(id,
                        EncoderRegistry.Options.defaults().withImageSize(c.inputSize()[1], c.inputSize()[2])));
                h.loadWeights(fx.model(), "featurizer.", m, null);
                enc = h;
                input = "input.video_values";
                prefix = "featurizer.";
            }
            case "encoder" -> {
                VivitConfig c = VivitConfig.fromJson(cfg, name);
                VivitEncoder v = new VivitEncoder(id, c, c.numFrames(), VivitEncoder.Tokens.ALL_SLOTS,
                        EncoderRegistry.transform(id, EncoderRegistry.Options.defaults().withImageSize(c.imageSize())));
                v.loadWeights(fx.model(), "", m, null);
                enc = v;
                input = "input.pixel_values";
                prefix = "";
            }
            default -> throw new AssertionError(name + ": unknown fixture_kind " + kind);
        }
        return new Run(enc, input, prefix);
    }

    /**
     * The frozen bf16 path: weights cast with {@code castTo}, {@code encode()} under no-grad returns
     * bf16 features close to the fp32 reference (bf16 rounding, ~3 significant digits) and records no graph.
     */
    @ParameterizedTest(name = "[{0}]")
    @ValueSource(strings = {"siglip-tiny", "dinov2-tiny", "languagebind-video-tiny", "hiera-video-tiny", "vivit-tiny"})
    void bf16EncodeStaysClose(String name) {
        try (Fixture fx = Fixture.open(name); NDManager m = Fixture.newManager()) {
            Run run = build(fx, m);
            FrozenVideoEncoder enc = run.encoder();
            enc.castTo(ScalarType.BFLOAT16, m);
            String featuresName = fx.metaList("outputs").contains("output.video_features") ? "output.video_features"
                    : "output.merv_features";
            try (NDManager step = m.newSubManager()) {
                NDArray x = fx.ioFloat(run.inputName(), step);
                NDArray out = enc.encode(x);
                assertEquals(ScalarType.BFLOAT16, Torch.dtype(out));
                assertFalse(out.hasGradient(), "encode() must not record autograd");
                NDArray expected = fx.ioFloat(featuresName, step);
                float[] got = Torch.toFloatArray(out);
                float[] want = expected.toFloatArray();
                double scale = 0;
                for (float v : want) {
                    scale = Math.max(scale, Math.abs(v));
                }
                // bf16 keeps 8 bits of mantissa; a few layers compound it to a few percent of the range
                Compare.assertClose(name + ":bf16 " + featuresName, got, want, expected.getShape().getShape(), 0.05 * scale, 0.05);
            }
        }
    }

    /** The family's debug outputs and hidden tensors under the fixture's names. */
    private static Map<String, NDArray> debugTensors(FrozenVideoEncoder enc, NDArray x, Fixture fx) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        long b = x.getShape().get(0);
        if (enc instanceof TimmFrameEncoder t) {
            long f = x.getShape().get(1);
            NDArray flat = x.reshape(b * f, x.getShape().get(2), x.getShape().get(3), x.getShape().get(4));
            NDArray blk = t.vit().blocks(t.vit().embed(flat), t.blockIndex());
            int prefix = t.vit().config().prefixTokens();
            out.put("output.featurizer_out", blk.get(":, " + prefix + ":, :"));
            out.put("output.forward_features", t.vit().forwardFeatures(flat));
        } else if (enc instanceof LanguageBindEncoder lb) {
            List<NDArray> hs = lb.hiddenStates(x);
            long t = x.getShape().get(2);
            for (int i = 0; i < hs.size(); i++) {
                NDArray h = hs.get(i);
                out.put("hidden.hidden_states_" + i, h.reshape(b, t, h.getShape().get(1), h.getShape().get(2)));
            }
            out.put("output.pooler_output", lb.tower().pooled(hs.get(hs.size() - 1), b));
        } else if (enc instanceof HieraEncoder h) {
            NDArray clips = h.clips(x);
            List<NDArray> inter = h.hiera().intermediates(clips, h.hiera().config().stages().length - 1);
            for (int i = 0; i < inter.size(); i++) {
                out.put("hidden.stage_" + i + "_out", inter.get(i));
            }
            out.put("output.head_logits", h.hiera().headLogits(clips));
        } else if (enc instanceof VivitEncoder v) {
            NDArray tub = v.model().tubelets(x);
            out.put("hidden.tubelet_embeddings", tub);
            NDArray hcur = v.model().embed(tub);
            out.put("hidden.embeddings", hcur);
            for (int i = 0; i < v.model().numLayers(); i++) {
                hcur = v.model().layer(i, hcur);
                out.put("hidden.layer_" + i, hcur);
            }
            NDArray last = v.model().finalNorm(hcur);
            out.put("output.last_hidden_state", last);
            VivitConfig c = v.model().config();
            VivitEncoder stride2 = new VivitEncoder("vivit-google-b-all-no-cls", c, c.numFrames(), VivitEncoder.Tokens.EVERY_SECOND_SLOT,
                    null);
            out.put("output.merv_features_stride2", stride2.select(last));
        }
        return out;
    }
}
