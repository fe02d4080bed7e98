package dev.merv.core.weights.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.testing.Fixture;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.ModelDirectory;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import dev.merv.core.weights.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The torch.save writer, the reference run layout and the converter: write, read back, identical
 * tensors. With {@code -Dmerv.torchsave.out=DIR} the written files are kept in DIR for
 * {@code tools/torch-save/verify_export.py}, which loads them with PyTorch's
 * {@code torch.load(weights_only=True)}.
 */
class TorchSaveWriterTest {

    static NDManager m;

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    private Path out() throws IOException {
        String keep = System.getProperty("merv.torchsave.out");
        return keep == null || keep.isBlank() ? tmp : Files.createDirectories(Path.of(keep));
    }

    @Test
    void everyDtypeAndNestingRoundTrips() throws IOException {
        Path dir = out();
        try (SafeTensors src = SafeTensors.open(TorchSaveFiles.positive("dtypes.expected.safetensors"));
                NDManager scope = m.newSubManager()) {
            Map<String, Object> tensors = new LinkedHashMap<>();
            Map<String, NDArray> flat = new LinkedHashMap<>();
            for (String n : src.names()) {
                NDArray a = src.load(n, scope, null);
                tensors.put(n, a);
                flat.put("dtypes." + n, a);
            }
            NDArray shared = scope.arange(6f).reshape(2, 3);
            NDArray transposed = Torch.transpose(scope.arange(12f).reshape(3, 4), 0, 1);
            List<Object> list = new ArrayList<>();
            list.add(shared);
            list.add(7);
            list.add(null);
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("dtypes", tensors);
            root.put("list", list);
            root.put("again", shared);
            root.put("transposed", transposed);
            root.put("scalar", scope.create(2.5f));
            root.put("empty", scope.create(new ai.djl.ndarray.types.Shape(0, 3)));
            root.put("step", 123456789012L);
            root.put("neg", -3);
            root.put("lr", 1e-5);
            root.put("name", "mérv");
            root.put("flag", false);
            flat.put("list.0", shared);
            flat.put("again", shared);
            flat.put("transposed", transposed);
            flat.put("scalar", (NDArray) root.get("scalar"));
            flat.put("empty", (NDArray) root.get("empty"));
            Path pt = dir.resolve("written.pt");
            TorchSaveWriter.write(pt, root);
            SafeTensorsWriter.write(dir.resolve("written.expected.safetensors"), flat);
            try (TorchCheckpoint ck = TorchCheckpoint.open(pt);
                    SafeTensors expected = SafeTensors.open(dir.resolve("written.expected.safetensors"))) {
                TorchSaveFiles.assertSameTensors(expected, ck, m);
                Map<String, String> values = new LinkedHashMap<>();
                ck.values().forEach(v -> values.put(v.path(), v.type() + " " + v.text()));
                assertThat(values).containsExactly(Map.entry("list.1", "int 7"), Map.entry("list.2", "NoneType None"),
                        Map.entry("step", "int 123456789012"), Map.entry("neg", "int -3"), Map.entry("lr", "float 1.0E-5"),
                        Map.entry("name", "str 'mérv'"), Map.entry("flag", "bool False"));
            }
        }
    }

    @Test
    void unsupportedValuesAreRefusedAndNothingIsWritten() {
        Path pt = tmp.resolve("bad.pt");
        assertThatThrownBy(() -> TorchSaveWriter.write(pt, Map.of("a", Map.of("b", new Object()))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'a.b'");
        assertThat(pt).doesNotExist();
    }

    /** The merv-forward-tiny weights of the three modules the reference saves, by flat name. */
    private static Map<String, NDArray> referenceModules(Fixture fx, NDManager scope) {
        Map<String, NDArray> flat = new LinkedHashMap<>();
        for (String n : fx.model().names()) {
            if (ReferenceRun.MODULES.contains(n.substring(0, n.indexOf('.')))) {
                flat.put(n, fx.model().load(n, scope, null));
            }
        }
        return flat;
    }

    @Test
    void referenceRunLayoutRoundTrips() throws IOException {
        Path run = out().resolve("run");
        try (Fixture fx = Fixture.open("merv-forward-tiny"); NDManager scope = m.newSubManager()) {
            Map<String, NDArray> flat = referenceModules(fx, scope);
            assertThat(flat).isNotEmpty();
            JsonObject config = new JsonObject();
            JsonObject model = new JsonObject();
            model.addProperty("arch_specifier", fx.config().get("arch_specifier").getAsString());
            config.add("model", model);
            ReferenceRun.write(run, config, ReferenceRun.byModule(flat));
            Map<String, NDArray> renamed = new LinkedHashMap<>();
            flat.forEach((n, a) -> renamed.put("model." + n, a));
            SafeTensorsWriter.write(run.resolve("expected.safetensors"), renamed);
            try (TorchCheckpoint ck = TorchCheckpoint.open(run.resolve(ReferenceRun.CHECKPOINT));
                    SafeTensors expected = SafeTensors.open(run.resolve("expected.safetensors"))) {
                TorchSaveFiles.assertSameTensors(expected, ck, m);
                assertThat(ck.values()).isEmpty();
            }
            assertThat(ModelDirectory.readConfig(run).getAsJsonObject("model").get("arch_specifier").getAsString())
                    .isEqualTo(fx.config().get("arch_specifier").getAsString());
            try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
                assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("latest-checkpoint.pt");
            }
        }
        assertThatThrownBy(() -> ReferenceRun.byModule(Map.of("video_backbones.0.x", m.zeros(new ai.djl.ndarray.types.Shape(1)))))
                .hasMessageContaining("video_backbones.0.x");
    }

    @Test
    void thePythonMadeReferenceRunReadsAsTorchWroteIt() throws IOException, NoSuchAlgorithmException {
        Path run = TorchSaveFiles.root().resolve("merv-run");
        JsonObject expected = TorchSaveFiles.json(run.resolve("expected.json"));
        try (TorchCheckpoint ck = TorchCheckpoint.open(run.resolve(ReferenceRun.CHECKPOINT))) {
            assertThat(ck.names()).containsExactlyInAnyOrderElementsOf(expected.keySet());
            for (Map.Entry<String, JsonElement> e : expected.entrySet()) {
                try (NDManager scope = m.newSubManager()) {
                    byte[] bytes = TorchSaveFiles.bytes(ck.load(e.getKey(), scope));
                    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
                    assertThat(sha).as(e.getKey()).isEqualTo(e.getValue().getAsJsonObject().get("sha256").getAsString());
                }
            }
        }
        assertThat(ModelDirectory.readConfig(run).getAsJsonObject("model").has("arch_specifier")).isTrue();
        try (TorchCheckpoint adapter = TorchCheckpoint.open(run.resolve("adapter.pt"));
                TorchCheckpoint projector = TorchCheckpoint.open(run.resolve("projector.pt"))) {
            assertThat(adapter.names()).anyMatch(n -> n.startsWith("model.adapter.attention."))
                    .anyMatch(n -> n.startsWith("model.projectors.0."));
            assertThat(projector.names()).isNotEmpty().allMatch(n -> n.startsWith("model.projector.projector."));
        }
    }

    @Test
    void convertWritesEqualSafetensorsAndListsWhatItSkipped() throws IOException {
        Path out = tmp.resolve("nested.safetensors");
        TorchCheckpoints.Conversion c = TorchCheckpoints.convert(TorchSaveFiles.positive("nested-legacy.pt"), out, 0);
        assertThat(c.written()).containsExactly(out);
        assertThat(c.skipped()).extracting(TorchCheckpoint.Value::path).contains("step", "name", "list.2", "tuple.2");
        try (SafeTensors got = SafeTensors.open(out);
                SafeTensors expected = SafeTensors.open(TorchSaveFiles.positive("nested.expected.safetensors"))) {
            TorchSaveFiles.assertSameTensors(expected, got, m);
            assertThat(got.metadata()).containsEntry("format", "pt");
        }
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).as("no temporary left").containsExactly("nested.safetensors");
        }
    }

    @Test
    void convertReshardsAShardedBinDirectory() throws IOException {
        Path outDir = Files.createDirectories(tmp.resolve("resharded"));
        Path out = outDir.resolve("model.safetensors");
        TorchCheckpoints.Conversion c = TorchCheckpoints.convert(TorchSaveFiles.positive("sharded"), out, 100);
        assertThat(c.written()).hasSizeGreaterThan(2).last().isEqualTo(outDir.resolve("model.safetensors.index.json"));
        assertThat(out).doesNotExist();
        try (ModelDirectory md = ModelDirectory.open(outDir);
                SafeTensors expected = SafeTensors.open(TorchSaveFiles.positive("sharded.expected.safetensors"))) {
            TorchSaveFiles.assertSameTensors(expected, md, m);
            assertThat(md.shards()).hasSize(c.written().size() - 1);
        }
        // and back into one file from the safetensors index
        Path one = tmp.resolve("one.safetensors");
        TorchCheckpoints.convert(outDir, one, 0);
        try (SafeTensors got = SafeTensors.open(one);
                SafeTensors expected = SafeTensors.open(TorchSaveFiles.positive("sharded.expected.safetensors"))) {
            TorchSaveFiles.assertSameTensors(expected, got, m);
        }
    }

    @Test
    void convertRefusesHostileInputWithoutWritingAnything() throws IOException {
        Path out = tmp.resolve("x.safetensors");
        assertThatThrownBy(() -> TorchCheckpoints.convert(TorchSaveFiles.hostileDir().resolve("global-os-system.pt"), out, 0))
                .isInstanceOf(WeightFormatException.class).hasMessageContaining("os.system");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.toList()).isEmpty();
        }
    }
}
