package dev.merv.core.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HF model directories: single file, sharded through the index, and the HF cache layout. */
class ModelDirectoryTest {

    static NDManager m;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    private void config(Path d) throws IOException {
        Files.writeString(d.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":8}");
    }

    private void shard(Path f, String... namesAndValues) {
        java.util.Map<String, ai.djl.ndarray.NDArray> t = new java.util.LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            t.put(namesAndValues[i], m.create(new float[] {Float.parseFloat(namesAndValues[i + 1])}));
        }
        SafeTensorsWriter.write(f, t);
    }

    @Test
    void singleFileDirectory() throws IOException {
        config(dir);
        shard(dir.resolve("model.safetensors"), "a", "1", "b", "2");
        try (ModelDirectory md = ModelDirectory.open(dir)) {
            assertThat(md.names()).containsExactlyInAnyOrder("a", "b");
            assertThat(md.config().get("hidden_size").getAsInt()).isEqualTo(8);
            assertThat(md.load("b", m, null).toFloatArray()).containsExactly(2f);
            assertThatThrownBy(() -> md.load("c", m, null)).isInstanceOf(WeightFormatException.class)
                    .hasMessageContaining("[tensor 'c']").hasMessageContaining(dir.toString());
        }
    }

    @Test
    void shardedThroughTheIndex() throws IOException {
        config(dir);
        shard(dir.resolve("model-00001-of-00002.safetensors"), "layers.0.w", "1", "embed", "5");
        shard(dir.resolve("model-00002-of-00002.safetensors"), "layers.1.w", "2", "head", "3");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\":{\"total_size\":16},\"weight_map\":{"
                + "\"embed\":\"model-00001-of-00002.safetensors\",\"layers.0.w\":\"model-00001-of-00002.safetensors\","
                + "\"layers.1.w\":\"model-00002-of-00002.safetensors\",\"head\":\"model-00002-of-00002.safetensors\"}}");
        try (ModelDirectory md = ModelDirectory.open(dir)) {
            assertThat(md.names()).containsExactlyInAnyOrder("embed", "layers.0.w", "layers.1.w", "head");
            assertThat(md.load("layers.1.w", m, null).toFloatArray()).containsExactly(2f);
            assertThat(md.load("embed", m, null).toFloatArray()).containsExactly(5f);
            assertThat(md.info("head").shape()).containsExactly(1);
        }
    }

    @Test
    void indexProblemsNameTheShardAndTensor() throws IOException {
        shard(dir.resolve("s1.safetensors"), "a", "1");
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}");
        assertThatThrownBy(() -> ModelDirectory.open(dir)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("s1.safetensors").hasMessageContaining("[tensor 'b']")
                .hasMessageContaining("listed in model.safetensors.index.json but not in the shard");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"a\":\"../evil.safetensors\"}}");
        assertThatThrownBy(() -> ModelDirectory.open(dir)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("[tensor 'a']").hasMessageContaining("escapes the directory");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"a\":\"s9.safetensors\"}}");
        assertThatThrownBy(() -> ModelDirectory.open(dir)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("s9.safetensors").hasMessageContaining("cannot open");
        Files.writeString(dir.resolve("model.safetensors.index.json"), "{\"metadata\":{}}");
        assertThatThrownBy(() -> ModelDirectory.open(dir)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("no 'weight_map'");
    }

    @Test
    void unshardedFilesMustNotRepeatANameAndOnlyTheHfPickleNamesAreRead() throws IOException {
        shard(dir.resolve("a.safetensors"), "x", "1");
        shard(dir.resolve("b.safetensors"), "x", "2");
        assertThatThrownBy(() -> ModelDirectory.open(dir)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("[tensor 'x']").hasMessageContaining("also present in a.safetensors");
        Path pickled = Files.createDirectory(dir.resolve("pickled"));
        Files.write(pickled.resolve("training_args.bin"), new byte[] {1});
        assertThatThrownBy(() -> ModelDirectory.open(pickled)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no weights").hasMessageContaining("./merv convert");
        Files.write(pickled.resolve("pytorch_model.bin"), new byte[] {1});
        assertThatThrownBy(() -> ModelDirectory.open(pickled)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("pytorch_model.bin").hasMessageContaining("neither a zip archive");
        assertThatThrownBy(() -> ModelDirectory.open(dir.resolve("nope"))).hasMessageContaining("does not exist");
    }

    @Test
    void hfCacheLayout() throws IOException {
        Path hub = dir.resolve("hf_home").resolve("hub");
        Path repo = hub.resolve("models--meta-llama--Llama-3.1-8B");
        Path older = Files.createDirectories(repo.resolve("snapshots").resolve("0123abc"));
        Path main = Files.createDirectories(repo.resolve("snapshots").resolve("fedcba9"));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs").resolve("main"), "fedcba9\n");
        Files.writeString(repo.resolve("refs").resolve("v1"), "0123abc");
        config(main);
        shard(main.resolve("model.safetensors"), "w", "4");

        assertThat(ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", null)).contains(main);
        assertThat(ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", "main")).contains(main);
        assertThat(ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", "v1")).contains(older);
        assertThat(ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", "0123abc")).contains(older);
        assertThat(ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", "deadbeef")).isEmpty();
        // a pull-request ref is cached as refs/refs/pr/N; one never fetched is simply absent
        assertThat(ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", "refs/pr/41")).isEmpty();
        Files.createDirectories(repo.resolve("refs").resolve("refs").resolve("pr"));
        Files.writeString(repo.resolve("refs").resolve("refs").resolve("pr").resolve("42"), "0123abc");
        assertThat(ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", "refs/pr/42")).contains(older);
        assertThat(ModelDirectory.findInCache(hub, "someone/else", null)).isEmpty();
        assertThatThrownBy(() -> ModelDirectory.findInCache(hub, "meta-llama/Llama-3.1-8B", "../../x"))
                .hasMessageContaining("is not a snapshot name");

        assertThat(ModelDirectory.resolve("meta-llama/Llama-3.1-8B", hub)).isEqualTo(main);
        assertThat(ModelDirectory.resolve(main.toString(), hub)).as("an explicit directory wins").isEqualTo(main);
        assertThatThrownBy(() -> ModelDirectory.resolve("org/missing", hub)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("models--org--missing").hasMessageContaining("HF_HOME");
        try (ModelDirectory md = ModelDirectory.open(ModelDirectory.resolve("meta-llama/Llama-3.1-8B", hub))) {
            assertThat(md.load("w", m, null).toFloatArray()).containsExactly(4f);
        }

        // no refs/main: a single snapshot is unambiguous
        Path solo = hub.resolve("models--org--solo").resolve("snapshots").resolve("abc");
        Files.createDirectories(solo);
        assertThat(ModelDirectory.findInCache(hub, "org/solo", null)).contains(solo);
    }
}
