package dev.merv.core.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading by an explicit name table, with the missing / unexpected / mismatched report. */
class WeightLoaderTest {

    static NDManager m;

    @TempDir
    Path dir;
    SafeTensors source;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    @BeforeEach
    void checkpoint() {
        Map<String, NDArray> t = new LinkedHashMap<>();
        t.put("model.embed.weight", Torch.to(m.arange(12f).reshape(4, 3), ScalarType.BFLOAT16));
        t.put("model.norm.weight", m.create(new float[] {1, 2, 3}));
        t.put("model.head.weight", m.zeros(new Shape(5, 3)));
        t.put("model.rotary.inv_freq", m.create(new float[] {0.5f}));
        t.put("model.position_ids", m.create(new long[] {0, 1, 2}));
        SafeTensorsWriter.write(dir.resolve("model.safetensors"), t);
        source = SafeTensors.open(dir.resolve("model.safetensors"));
    }

    private Map<String, Param> table() {
        Map<String, Param> table = new LinkedHashMap<>();
        table.put("model.embed.weight", new Param("embed.weight", 4, 3));
        table.put("model.norm.weight", new Param("norm.weight", 3));
        table.put("model.head.weight", new Param("head.weight", 3, 5)); // transposed: a mismatch
        table.put("model.layers.0.weight", new Param("layers.0.weight", 2)); // missing
        table.put("model.position_ids", new Param("position_ids", 3));
        return table;
    }

    @Test
    void strictLoadNamesEveryProblemAndLoadsNothing() {
        Map<String, Param> table = table();
        assertThatThrownBy(() -> WeightLoader.load(source, table, m, ScalarType.FLOAT32))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(dir.resolve("model.safetensors").toString())
                .hasMessageContaining("missing [model.layers.0.weight]")
                .hasMessageContaining("unexpected [model.rotary.inv_freq]")
                .hasMessageContaining("model.head.weight [5, 3] vs expected [3, 5]");
        assertThat(table.values()).noneMatch(Param::isSet);
        source.close();
    }

    @Test
    void lenientLoadReportsAndLoadsTheRest() {
        Map<String, Param> table = table();
        WeightLoader.Report r = WeightLoader.load(source, table, m, ScalarType.FLOAT32, false, null);
        assertThat(r.clean()).isFalse();
        assertThat(r.missing()).containsExactly("model.layers.0.weight");
        assertThat(r.unexpected()).containsExactly("model.rotary.inv_freq");
        assertThat(r.mismatched()).containsExactly("model.head.weight [5, 3] vs expected [3, 5]");
        assertThat(r.loaded()).containsExactlyInAnyOrder("model.embed.weight", "model.norm.weight", "model.position_ids");
        NDArray embed = table.get("model.embed.weight").get();
        assertThat(Torch.dtype(embed)).as("floating tensors converted to the requested dtype").isEqualTo(ScalarType.FLOAT32);
        assertThat(embed.toFloatArray()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        assertThat(Torch.dtype(table.get("model.position_ids").get())).as("integers keep their dtype").isEqualTo(ScalarType.INT64);
        assertThat(table.get("model.head.weight").isSet()).isFalse();
        assertThat(table.get("model.layers.0.weight").isSet()).isFalse();
        source.close();
    }

    @Test
    void cleanStrictLoadWithIgnoredBuffersKeepsStoredDtype() {
        Map<String, Param> table = new LinkedHashMap<>();
        table.put("model.embed.weight", new Param("embed.weight", 4, 3));
        table.put("model.norm.weight", new Param("norm.weight", 3));
        table.put("model.head.weight", new Param("head.weight", 5, 3));
        table.put("model.position_ids", new Param("position_ids", 3));
        WeightLoader.Report r = WeightLoader.load(source, table, m, null, true, n -> n.endsWith("inv_freq"));
        assertThat(r.clean()).isTrue();
        assertThat(r.loaded()).hasSize(4);
        assertThat(Torch.dtype(table.get("model.embed.weight").get())).isEqualTo(ScalarType.BFLOAT16);
        assertThat(WeightLoader.identity("model.", Map.of("norm.weight", table.get("model.norm.weight"))))
                .containsOnlyKeys("model.norm.weight");
        source.close();
    }
}
