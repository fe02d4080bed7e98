package dev.merv.core.weights.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * torch.save files made by PyTorch itself (zip and legacy formats, every dtype, views sharing one
 * storage, nested containers, protocol 4) read back to exactly the tensors torch.load returned.
 */
class TorchCheckpointTest {

    static NDManager m;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"dtypes", "dtypes-legacy", "views", "views-legacy", "nested", "nested-legacy", "protocol4",
        "root-tensor", "root-tensor-legacy"})
    void readsWhatTorchLoadReturns(String name) {
        String base = name.replace("-legacy", "");
        try (TorchCheckpoint ck = TorchCheckpoint.open(TorchSaveFiles.positive(name + ".pt"));
                SafeTensors expected = SafeTensors.open(TorchSaveFiles.positive(base + ".expected.safetensors"))) {
            assertThat(ck.format()).isEqualTo(name.endsWith("-legacy") ? TorchCheckpoint.Format.LEGACY : TorchCheckpoint.Format.ZIP);
            TorchSaveFiles.assertSameTensors(expected, ck, m);
            JsonObject values = TorchSaveFiles.json(TorchSaveFiles.positive(base + ".values.json"));
            Map<String, String> want = new LinkedHashMap<>();
            values.entrySet().forEach(e -> want.put(e.getKey(), e.getValue().getAsString()));
            Map<String, String> got = new LinkedHashMap<>();
            ck.values().forEach(v -> got.put(v.path(), v.type()));
            assertThat(got).as("non-tensor values of " + name).isEqualTo(want);
        }
    }

    @Test
    void everyDtypeKeepsItsType() {
        try (TorchCheckpoint ck = TorchCheckpoint.open(TorchSaveFiles.positive("dtypes.pt"))) {
            Map<String, ScalarType> want = Map.of("f32", ScalarType.FLOAT32, "f16", ScalarType.FLOAT16, "bf16",
                    ScalarType.BFLOAT16, "f64", ScalarType.FLOAT64, "i64", ScalarType.INT64, "i32", ScalarType.INT32,
                    "i16", ScalarType.INT16, "i8", ScalarType.INT8, "u8", ScalarType.UINT8, "bool", ScalarType.BOOL);
            want.forEach((n, t) -> assertThat(ck.info(n).dtype()).as(n).isEqualTo(t));
        }
    }

    @Test
    void viewsComeOutContiguousAndConvertible() {
        try (TorchCheckpoint ck = TorchCheckpoint.open(TorchSaveFiles.positive("views.pt"));
                NDManager scope = m.newSubManager()) {
            NDArray base = ck.load("base", scope);
            NDArray t = ck.load("t", scope);
            assertThat(t.getShape().getShape()).containsExactly(6, 4);
            float[] b = base.toFloatArray();
            float[] tv = t.toFloatArray();
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 4; j++) {
                    assertThat(tv[i * 4 + j]).isEqualTo(b[j * 6 + i]);
                }
            }
            assertThat(ck.load("scalar_view", scope).getShape().dimension()).isZero();
            assertThat(ck.load("empty_view", scope).getShape().getShape()).containsExactly(4, 0);
            NDArray bf = ck.load("bf16_t", scope, ScalarType.FLOAT32);
            assertThat(Torch.dtype(bf)).isEqualTo(ScalarType.FLOAT32);
            assertThat(scope.getManagedArrays()).as("no temporaries left in the caller's manager").hasSize(5);
        }
    }

    @Test
    void shardedIndexIsReadThroughModelDirectory() {
        Path dir = TorchSaveFiles.positive("sharded");
        try (dev.merv.core.weights.ModelDirectory md = dev.merv.core.weights.ModelDirectory.open(dir);
                SafeTensors expected = SafeTensors.open(TorchSaveFiles.positive("sharded.expected.safetensors"))) {
            TorchSaveFiles.assertSameTensors(expected, md, m);
        }
    }
}
