package dev.merv.core.weights.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.WeightSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The torch.save files made by {@code tools/torch-save/make_fixtures.py} (in this module's test
 * resources, {@code torch-save/}): each positive file has the tensors torch.load returned for it
 * beside it as safetensors. These are format fixtures, not model fixtures: they do not change with
 * {@code -Dmerv.fixtures}.
 */
public final class TorchSaveFiles {

    private TorchSaveFiles() {}

    /** The {@code torch-save} resource directory. */
    public static Path root() {
        URL url = TorchSaveFiles.class.getClassLoader().getResource("torch-save");
        if (url == null) {
            throw new AssertionError("no torch-save/ test resources (run tools/torch-save/make_fixtures.py)");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    public static Path positive(String name) {
        return existing(root().resolve("positive").resolve(name));
    }

    public static Path hostileDir() {
        return existing(root().resolve("hostile"));
    }

    /** {@code hostile/expected.json}: file name to a fragment its refusal must contain. */
    public static JsonObject hostileExpectations() {
        return json(hostileDir().resolve("expected.json"));
    }

    public static JsonObject json(Path p) {
        try {
            return JsonParser.parseString(Files.readString(existing(p), StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path existing(Path p) {
        if (!Files.exists(p)) {
            throw new AssertionError("missing test resource " + p);
        }
        return p;
    }

    /** The raw bytes of a CPU tensor (any dtype, bf16 included), in row-major order. */
    public static byte[] bytes(NDArray a) {
        try (NDArray dense = Torch.contiguous(a)) {
            ByteBuffer b = dense.toByteBuffer().order(ByteOrder.nativeOrder());
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        }
    }

    /** Asserts that both sources hold the same names, and every tensor has the same dtype, shape and bytes. */
    public static void assertSameTensors(WeightSource expected, WeightSource actual, NDManager m) {
        assertThat(actual.names()).as("tensor names of " + actual.describe()).containsExactlyInAnyOrderElementsOf(expected.names());
        for (String n : expected.names()) {
            try (NDManager scope = m.newSubManager()) {
                NDArray want = expected.load(n, scope, null);
                NDArray got = actual.load(n, scope, null);
                assertThat(Torch.dtype(got)).as(n + " dtype").isEqualTo(Torch.dtype(want));
                assertThat(got.getShape().getShape()).as(n + " shape").isEqualTo(want.getShape().getShape());
                assertThat(actual.info(n).shape()).as(n + " info shape").isEqualTo(want.getShape().getShape());
                assertThat(Arrays.equals(bytes(got), bytes(want))).as(n + " bytes").isTrue();
            }
        }
    }
}
