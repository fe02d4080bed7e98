package dev.merv.core.weights.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.weights.WeightFormatException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The reference checkpoint view over the torch.save files of {@code torch-save/merv-run} (made by PyTorch from
 * merv-forward-tiny's weights): merv's names for the model dict, and the two legacy layouts the reference's loader
 * remaps ({@code adapter}, single {@code projector}).
 */
class ReferenceCheckpointTest {

    private static NDManager m;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    private static Path run() {
        return TorchSaveFiles.root().resolve("merv-run");
    }

    private static String sha(ReferenceCheckpoint ck, String name) throws Exception {
        try (NDManager scope = m.newSubManager()) {
            byte[] bytes = TorchSaveFiles.bytes(ck.load(name, scope, null));
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        }
    }

    @Test
    void theModelDictIsSeenUnderMervNamesWithTorchsBytes() throws Exception {
        JsonObject expected = TorchSaveFiles.json(run().resolve("expected.json"));
        try (ReferenceCheckpoint ck = ReferenceCheckpoint.open(run().resolve(ReferenceRun.CHECKPOINT))) {
            // expected.json: "model.<module>.<key>" -> {"source": "<module>.<key>", sha256 of torch's bytes}
            Map<String, String> want = expected.entrySet().stream().collect(Collectors.toMap(
                    e -> e.getValue().getAsJsonObject().get("source").getAsString(),
                    e -> e.getValue().getAsJsonObject().get("sha256").getAsString()));
            assertThat(ck.names()).containsExactlyInAnyOrderElementsOf(want.keySet());
            assertThat(ck.modules()).containsExactly("projectors", "feature_fusion", "llm_backbone");
            assertThat(ck.remapped()).isEmpty();
            for (Map.Entry<String, String> e : want.entrySet()) {
                assertThat(sha(ck, e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
                assertThat(ck.info(e.getKey()).shape()).isEqualTo(
                        expected.getAsJsonObject("model." + e.getKey()).getAsJsonArray("shape").asList().stream()
                                .mapToLong(JsonElement::getAsLong).toArray());
            }
        }
    }

    @Test
    void legacyAdapterIsTheFusion() throws Exception {
        JsonObject expected = TorchSaveFiles.json(run().resolve("expected.json"));
        try (ReferenceCheckpoint ck = ReferenceCheckpoint.open(run().resolve("adapter.pt"))) {
            assertThat(ck.modules()).containsExactly("projectors", "feature_fusion");
            assertThat(ck.remapped()).singleElement().asString().contains("model.adapter.*");
            for (String n : ck.names()) {
                assertThat(sha(ck, n)).as(n).isEqualTo(expected.getAsJsonObject("model." + n).get("sha256").getAsString());
            }
            assertThat(ck.names()).contains("feature_fusion.Q").noneMatch(n -> n.startsWith("adapter."));
        }
    }

    @Test
    void legacySingleProjectorIsEncoderZerosProjector() throws Exception {
        JsonObject expected = TorchSaveFiles.json(run().resolve("expected.json"));
        try (ReferenceCheckpoint ck = ReferenceCheckpoint.open(run().resolve("projector.pt"))) {
            assertThat(ck.modules()).containsExactly("projectors");
            assertThat(ck.names()).isNotEmpty().allMatch(n -> n.startsWith("projectors.0."));
            for (String n : ck.names()) {
                assertThat(sha(ck, n)).as(n).isEqualTo(expected.getAsJsonObject("model." + n).get("sha256").getAsString());
            }
            assertThat(ck.storedName("projectors.0.projector.projector.weight"))
                    .isEqualTo("model.projector.projector.projector.weight");
        }
    }

    @Test
    void aFileWithoutTheReferenceModelDictIsRefusedNamingIt() {
        assertThatThrownBy(() -> ReferenceCheckpoint.open(TorchSaveFiles.positive("dtypes.pt")))
                .isInstanceOf(WeightFormatException.class).hasMessageContaining("dtypes.pt").hasMessageContaining("'model' dict");
        // a 'model' dict of other modules (here an nn.Sequential's '0', '1')
        assertThatThrownBy(() -> ReferenceCheckpoint.open(TorchSaveFiles.positive("nested.pt")))
                .isInstanceOf(WeightFormatException.class).hasMessageContaining("nested.pt")
                .hasMessageContaining("holds none of [projectors, feature_fusion, llm_backbone]");
    }
}
