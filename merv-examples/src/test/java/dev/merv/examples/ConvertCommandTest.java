package dev.merv.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.torch.TorchSaveFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./merv convert}: positive torch.save files become safetensors equal to torch's own tensors;
 * every hostile file exits non-zero with the reason and leaves no file behind. The timeout is the
 * acceptance bound ("well under a minute" for all hostile files), not a performance measurement.
 */
class ConvertCommandTest {

    @TempDir
    Path tmp;

    private static boolean empty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    @Timeout(60)
    void refusesEveryHostileFileAndWritesNothing() throws IOException {
        Map<String, JsonElement> expected = TorchSaveFiles.hostileExpectations().asMap();
        for (Map.Entry<String, JsonElement> e : expected.entrySet()) {
            Path in = TorchSaveFiles.hostileDir().resolve(e.getKey());
            Path outDir = Files.createDirectories(tmp.resolve(e.getKey() + ".out"));
            Launch r = Launch.run("convert", in.toString(), outDir.resolve("out.safetensors").toString(), "--shard-size", "1KB");
            assertThat(r.code()).as(e.getKey() + ": " + r.all()).isEqualTo(1);
            assertThat(r.err()).as(e.getKey()).contains("refused").contains(in.toString()).contains(e.getValue().getAsString());
            assertThat(empty(outDir)).as(e.getKey() + " leaves no output file").isTrue();
        }
    }

    @Test
    void convertsAndListsSkippedValues() throws IOException {
        Path out = tmp.resolve("nested.safetensors");
        Launch r = Launch.run("convert", TorchSaveFiles.positive("nested.pt").toString(), out.toString());
        assertThat(r.code()).as(r.all()).isZero();
        assertThat(r.out()).contains("skipped non-tensor value step = 42 (int)").contains("-> " + out);
        try (NDManager m = NDManager.newBaseManager();
                SafeTensors got = SafeTensors.open(out);
                SafeTensors want = SafeTensors.open(TorchSaveFiles.positive("nested.expected.safetensors"))) {
            TorchSaveFiles.assertSameTensors(want, got, m);
        }
    }

    @Test
    void shardsWithAnIndex() throws IOException {
        Path out = tmp.resolve("model.safetensors");
        Launch r = Launch.run("convert", TorchSaveFiles.positive("views.pt").toString(), out.toString(), "--shard-size=200B");
        assertThat(r.code()).as(r.all()).isZero();
        assertThat(tmp.resolve("model.safetensors.index.json")).exists();
        try (NDManager m = NDManager.newBaseManager();
                var got = dev.merv.core.weights.ModelDirectory.open(tmp);
                SafeTensors want = SafeTensors.open(TorchSaveFiles.positive("views.expected.safetensors"))) {
            TorchSaveFiles.assertSameTensors(want, got, m);
        }
    }

    @Test
    void badUsageExitsTwo() {
        assertThat(Launch.run("convert", "only-one").code()).isEqualTo(2);
        assertThat(Launch.run("convert", "a.pt", "b.safetensors", "--shard-size", "lots").code()).isEqualTo(2);
        assertThat(Launch.run("convert", tmp.resolve("missing.pt").toString(), tmp.resolve("o.safetensors").toString()).code())
                .isEqualTo(2);
    }
}
