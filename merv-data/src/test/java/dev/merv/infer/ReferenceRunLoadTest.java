package dev.merv.infer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.merv.build.MervForwardFixtureTest;
import dev.merv.core.model.Merv;
import dev.merv.core.model.MervBatch;
import dev.merv.core.model.MervOutput;
import dev.merv.core.model.Precision;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.core.weights.torch.ReferenceCheckpoint;
import dev.merv.core.weights.torch.ReferenceRun;
import dev.merv.core.weights.torch.TorchSaveFiles;
import dev.merv.encoders.EncoderRegistry;
import dev.merv.encoders.FrozenVideoEncoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run in the Python reference's layout ({@code config.json} + {@code checkpoints/latest-checkpoint.pt}) loads through
 * {@link MervInference#load} and computes the merv-forward-tiny fixture's logits. The run is
 * {@code torch-save/merv-run}, written by PyTorch from the fixture's weights; under {@code -Dmerv.fixtures} (another
 * fixture set) a run of the same layout is written from that fixture's weights by merv's torch.save writer. The
 * fixture's tiny encoders load from directories in the hub layout written from the fixture (their family configs
 * from its config.json), its LLM is built empty from a directory holding only its config.json and filled from the
 * checkpoint's llm_backbone.
 */
class ReferenceRunLoadTest {

    private static final String FIXTURE = "merv-forward-tiny";

    @Test
    void aReferenceLayoutRunReproducesTheFixtureLogits(@TempDir Path tmp) throws IOException {
        try (Fixture f = Fixture.open(FIXTURE)) {
            Path run = referenceRun(f, tmp.resolve("run"));
            MervInference.Options o = backbones(f, tmp.resolve("backbones"), MervInference.Options.defaults())
                    .withPrecision(Precision.FP32).withTokenizer(false);
            assertLogits(f, run, o);
            // the same weights with the fusion under its legacy name 'adapter', picked with --checkpoint FILE.pt
            Path legacy = tmp.resolve("legacy-adapter.pt");
            try (ReferenceCheckpoint ck = ReferenceCheckpoint.open(run.resolve(ReferenceRun.CHECKPOINT));
                    NDManager m = NDManager.newBaseManager()) {
                Map<String, Object> modules = new LinkedHashMap<>();
                for (String n : ck.names()) {
                    String module = n.substring(0, n.indexOf('.'));
                    @SuppressWarnings("unchecked")
                    Map<String, Object> sd = (Map<String, Object>) modules.computeIfAbsent(
                            module.equals("feature_fusion") ? "adapter" : module, k -> new LinkedHashMap<String, Object>());
                    sd.put(n.substring(module.length() + 1), ck.load(n, m, null));
                }
                dev.merv.core.weights.torch.TorchSaveWriter.write(legacy, Map.of("model", modules));
            }
            assertLogits(f, run, o.withCheckpoint(legacy));
        }
    }

    /** Loads {@code run} and checks the fixture's logits and loss on its inputs. */
    private static void assertLogits(Fixture f, Path run, MervInference.Options o) {
        try (MervInference model = MervInference.load(run, o); var ng = Torch.noGrad()) {
            Merv merv = model.model();
            assertThat(merv.visualLength()).isEqualTo(f.config().get("visual_feature_length").getAsInt());
            try (NDManager bm = NDManager.newBaseManager()) {
                NDArray ids = f.io("input.input_ids", bm);
                int b = (int) ids.getShape().get(0);
                List<NDArray> pixels = new ArrayList<>();
                for (int i = 0; i < merv.encoders().size(); i++) {
                    pixels.add(f.ioFloat("input.video_values_" + i, bm));
                }
                NDArray mask = f.io("input.attention_mask", bm).toType(DataType.BOOLEAN, false);
                MervBatch batch = new MervBatch(ids, mask, f.io("input.labels", bm), pixels,
                        IntStream.range(0, b).toArray(), new boolean[b], -1, bm.newSubManager());
                MervOutput out = merv.forward(batch);
                f.assertMatches("output.logits", out.logits());
                f.assertMatches("output.loss", out.loss());
            }
        }
    }

    @Test
    void aCheckpointWithoutTheLlmIsRefusedBeforeAnyBackboneLoads(@TempDir Path tmp) throws IOException {
        Path run = Files.createDirectories(tmp.resolve("align"));
        Path merv = TorchSaveFiles.root().resolve("merv-run");
        Files.copy(merv.resolve("config.json"), run.resolve("config.json"));
        Files.createDirectories(run.resolve("checkpoints"));
        // the legacy 'adapter' file holds projectors and the fusion only
        Files.copy(merv.resolve("adapter.pt"), run.resolve(ReferenceRun.CHECKPOINT));
        // no backbone directories exist: the refusal must come first
        assertThatThrownBy(() -> MervInference.load(run, MervInference.Options.defaults().withTokenizer(false)))
                .hasMessageContaining("latest-checkpoint.pt").hasMessageContaining("llm_backbone");
    }

    @Test
    void aReferenceConfigIsReadAsMervBaseWithTheStoredValues(@TempDir Path tmp) throws IOException {
        JsonObject cfg = json("{\"model\": {\"type\": \"merv-full\", \"vidlm_id\": \"x\", \"model_id\": \"my-merv\","
                + " \"arch_specifier\": \"3davg+linear\", \"num_frames\": [16, 16, 32, 16]}, \"seed\": 5}");
        var model = RunDirectory.referenceModel(cfg, tmp.resolve("config.json"));
        assertThat(model.modelId()).isEqualTo("my-merv");
        assertThat(model.archSpecifier()).isEqualTo("3davg+linear");
        assertThat(model.type()).as("type dropped: merv-base's").isEqualTo("merv-base");
        assertThat(model.featureFusion()).isEqualTo("cross_attention_avg_lq");
        JsonObject bad = json("{\"model\": {\"model_id\": \"m\", \"no_such_field\": 1}}");
        assertThatThrownBy(() -> RunDirectory.referenceModel(bad, tmp.resolve("config.json")))
                .hasMessageContaining("config.json").hasMessageContaining("model.no_such_field");
    }

    private static JsonObject json(String s) {
        return com.google.gson.JsonParser.parseString(s).getAsJsonObject();
    }

    /**
     * The PyTorch-made run when its tensors are this fixture's weights; otherwise (another fixture set) the same
     * layout written from this fixture by merv's writer.
     */
    static Path referenceRun(Fixture f, Path target) throws IOException {
        Path made = TorchSaveFiles.root().resolve("merv-run");
        SafeTensors weights = f.model();
        boolean same = true;
        try (ReferenceCheckpoint ck = ReferenceCheckpoint.open(made.resolve(ReferenceRun.CHECKPOINT));
                NDManager m = NDManager.newBaseManager()) {
            for (String n : ck.names()) {
                if (!weights.names().contains(n) || !Arrays.equals(ck.info(n).shape(), weights.info(n).shape())) {
                    same = false;
                    break;
                }
                try (NDManager s = m.newSubManager()) {
                    if (!Arrays.equals(TorchSaveFiles.bytes(ck.load(n, s, null)), TorchSaveFiles.bytes(weights.load(n, s, null)))) {
                        same = false;
                        break;
                    }
                }
            }
            same &= ck.names().size() == weights.names().stream().filter(n -> !n.startsWith("video_backbones.")).count();
        }
        String fixtures = System.getProperty(Fixture.PROPERTY);
        if (fixtures == null || fixtures.isBlank() || fixtures.startsWith("${")) {
            assertThat(same).as("torch-save/merv-run holds this module's merv-forward-tiny weights").isTrue();
        }
        if (same) {
            System.out.println(f.name() + ": loading the PyTorch-made reference run " + made);
            return made;
        }
        System.out.println(f.name() + ": another fixture set; writing its reference run to " + target);
        JsonObject fx = f.config();
        JsonObject model = new JsonObject();
        model.addProperty("type", "merv-base");
        model.addProperty("model_id", "merv-base");
        for (String k : List.of("arch_specifier", "feature_fusion", "video_backbone_ids", "num_frames",
                "projector_token_length", "visual_feature_length", "fusion_embed_dim")) {
            model.add(k, fx.get(k));
        }
        model.addProperty("llm_backbone_id", llmId(f));
        JsonObject config = new JsonObject();
        config.add("model", model);
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> flat = new LinkedHashMap<>();
            for (String n : weights.names()) {
                if (!n.startsWith("video_backbones.")) {
                    flat.put(n, weights.load(n, m, null));
                }
            }
            ReferenceRun.write(target, config, ReferenceRun.byModule(flat));
        }
        return target;
    }

    /**
     * Writes each of the fixture's encoders as a hub-layout checkpoint directory (its family config as config.json,
     * its tensors under the hub checkpoint's names) and its LLM as a directory holding only config.json; returns
     * {@code options} pointing at them, each encoder built at the fixture's input size.
     */
    static MervInference.Options backbones(Fixture f, Path root, MervInference.Options options) throws IOException {
        JsonObject cfg = f.config();
        SafeTensors weights = f.model();
        MervInference.Options o = options;
        int n = cfg.getAsJsonArray("video_backbone_ids").size();
        JsonObject families = cfg.getAsJsonObject("video_backbones");
        for (int i = 0; i < n; i++) {
            String id = cfg.getAsJsonArray("video_backbone_ids").get(i).getAsString();
            String family = families.keySet().stream().filter(id::startsWith).findFirst().orElseThrow();
            Path dir = Files.createDirectories(root.resolve("encoder-" + i));
            Files.writeString(dir.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create()
                    .toJson(families.getAsJsonObject(family)), StandardCharsets.UTF_8);
            String from = "video_backbones." + i + ".featurizer.";
            String to = EncoderRegistry.get(id).checkpointPrefix();
            try (NDManager m = NDManager.newBaseManager()) {
                Map<String, NDArray> t = new LinkedHashMap<>();
                for (String name : weights.names()) {
                    if (name.startsWith(from)) {
                        t.put(to + name.substring(from.length()), weights.load(name, m, null));
                    }
                }
                SafeTensorsWriter.write(dir.resolve("model.safetensors"), t, Map.of("format", "pt"));
            }
            FrozenVideoEncoder shape = MervForwardFixtureTest.encoder(f, i);
            o = o.withWeight(id, dir).withEncoderOptions(id,
                    EncoderRegistry.Options.defaults().withImageSize(shape.transform().size()));
        }
        Path llm = Files.createDirectories(root.resolve("llm"));
        Files.writeString(llm.resolve("config.json"), cfg.getAsJsonObject("llm_backbone").toString(), StandardCharsets.UTF_8);
        return o.withWeight(llmId(f), llm);
    }

    /** The catalog's id for the fixture's LLM: its family's tiny fixture model. */
    static String llmId(Fixture f) {
        String type = f.config().getAsJsonObject("llm_backbone").get("model_type").getAsString();
        return type.equals("qwen2") ? "qwen2-tiny" : "llama3-tiny";
    }
}
