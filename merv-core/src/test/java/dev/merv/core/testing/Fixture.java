package dev.merv.core.testing;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.catalog.Catalog;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.ModelRegistry;
import dev.merv.core.torch.Cuda;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One golden fixture directory ({@code config.json}, {@code meta.json}, {@code model.safetensors},
 * {@code io.safetensors}), found through {@code -Dmerv.fixtures=DIR} when set, else in the test
 * module's own {@code src/test/resources/fixtures/<name>}. A missing or incomplete fixture is a test
 * failure, never a skip. Every size a test uses must come from {@link #config()} / {@link #meta()}.
 * Tests make their arrays with {@link #newManager()}, on the device {@code -Dmerv.test.device} names.
 *
 * <p>Two kinds of fixture: the reference set ({@link #open}), golden outputs of the reference implementations
 * that {@code -Dmerv.fixtures} can replace with another set laid out the same way; and merv's own fixtures
 * ({@link #openOwn}), made by merv's tools from plain PyTorch components the reference set does not cover
 * (LoRA adapters, {@code tools/lora/make_fixture.py}). Those always come from the module's
 * {@code src/test/resources/own-fixtures/<name>}: a replacement reference set does not have them.
 */
public final class Fixture implements AutoCloseable {

    /** System property naming a directory laid out like a module's {@code src/test/resources/fixtures}. */
    public static final String PROPERTY = "merv.fixtures";

    /**
     * System property naming the device every fixture test computes on: {@code cpu} (the default),
     * {@code cuda} / {@code gpu} (GPU 0), {@code cuda:N}, {@code gpuN}. The GPU kit sets it.
     */
    public static final String DEVICE_PROPERTY = "merv.test.device";

    private final String name;
    private final Path dir;
    private final JsonObject config;
    private final JsonObject meta;
    private SafeTensors io;
    private SafeTensors model;

    private Fixture(String name, Path dir, JsonObject config, JsonObject meta) {
        this.name = name;
        this.dir = dir;
        this.config = config;
        this.meta = meta;
    }

    /** The fixture root in use: {@code -Dmerv.fixtures} or the module's test resources. */
    public static Path root() {
        String prop = System.getProperty(PROPERTY);
        if (prop != null && !prop.isBlank() && !prop.startsWith("${")) {
            Path p = Path.of(prop);
            if (!Files.isDirectory(p)) {
                throw new AssertionError("-D" + PROPERTY + "=" + prop + " is not a directory");
            }
            return p;
        }
        URL url = Fixture.class.getClassLoader().getResource("fixtures");
        if (url == null) {
            throw new AssertionError("no fixtures: set -D" + PROPERTY + "=DIR or add src/test/resources/fixtures");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The device of {@link #DEVICE_PROPERTY}. Asking for a GPU that libtorch does not see fails (a GPU run
     * must never quietly compare CPU results).
     */
    public static Device device() {
        String v = System.getProperty(DEVICE_PROPERTY, "cpu").trim().toLowerCase(java.util.Locale.ROOT);
        if (v.isEmpty() || v.startsWith("${") || v.equals("cpu")) {
            return Device.cpu();
        }
        int index;
        if (v.equals("cuda") || v.equals("gpu")) {
            index = 0;
        } else if (v.matches("cuda:\\d+")) {
            index = Integer.parseInt(v.substring(5));
        } else if (v.matches("gpu\\d+")) {
            index = Integer.parseInt(v.substring(3));
        } else {
            throw new AssertionError("-D" + DEVICE_PROPERTY + "=" + v + ": expected cpu, cuda, cuda:N or gpuN");
        }
        if (index >= Cuda.deviceCount()) {
            throw new AssertionError("-D" + DEVICE_PROPERTY + "=" + v + " but " + Cuda.describe());
        }
        return Device.gpu(index);
    }

    /**
     * A new base manager on {@link #device()}, for a fixture test's arrays and models. On a GPU it first
     * switches TF32 off (cuDNN convolutions use it by default), since fixture tolerances are fp32's.
     */
    public static NDManager newManager() {
        Device d = device();
        if (d.isGpu()) {
            Cuda.allowTf32(false);
        }
        return NDManager.newBaseManager(d);
    }

    /** {@link #device()} in the trainer's {@code --devices} grammar ({@code cpu} or {@code gpuN}). */
    public static String devicesFlag() {
        Device d = device();
        return d.isGpu() ? "gpu" + d.getDeviceId() : "cpu";
    }

    /** Opens fixture {@code name}; fails (never skips) when its directory or a required file is missing. */
    public static Fixture open(String name) {
        Path dir = root().resolve(name);
        if (!Files.isDirectory(dir)) {
            throw new AssertionError("fixture '" + name + "' missing: " + dir);
        }
        return openAt(name, dir);
    }

    /**
     * Opens merv's own fixture {@code name} from the test classpath's {@code own-fixtures/<name>} (never from
     * {@code -Dmerv.fixtures}); fails when it is missing or has no meta.json. Sizes still come from the fixture.
     */
    public static Fixture openOwn(String name) {
        URL url = Fixture.class.getClassLoader().getResource("own-fixtures/" + name);
        if (url == null) {
            throw new AssertionError("own fixture '" + name + "' missing: no own-fixtures/" + name + " on the test classpath");
        }
        Path dir;
        try {
            dir = Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
        return openAt(name, dir);
    }

    private static Fixture openAt(String name, Path dir) {
        Path meta = dir.resolve("meta.json");
        if (!Files.exists(meta)) {
            throw new AssertionError("fixture '" + name + "' incomplete: no meta.json in " + dir);
        }
        Path cfg = dir.resolve("config.json");
        JsonObject config = Files.exists(cfg) ? json(cfg).getAsJsonObject() : new JsonObject();
        return new Fixture(name, dir, config, json(meta).getAsJsonObject());
    }

    static JsonElement json(Path p) {
        try {
            return JsonParser.parseString(Files.readString(p, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public String name() {
        return name;
    }

    public Path dir() {
        return dir;
    }

    /**
     * {@code merv-base} with this fixture's architecture knobs from config.json ({@code arch_specifier},
     * {@code feature_fusion}, backbone ids, frames, token lengths, fusion width) and the fixture's LLM
     * ({@link #llmId()}).
     */
    public ModelConfig mervBaseConfig() {
        JsonObject cfg = config();
        JsonArray ids = cfg.getAsJsonArray("video_backbone_ids");
        JsonArray frames = cfg.getAsJsonArray("num_frames");
        return ModelRegistry.get("merv-base")
                .with("arch_specifier", cfg.get("arch_specifier").getAsString())
                .with("feature_fusion", cfg.get("feature_fusion").getAsString())
                .with("video_backbone_ids", ids.toString().replace("\"", ""))
                .with("num_frames", frames.toString())
                .with("projector_token_length", cfg.get("projector_token_length").getAsString())
                .with("visual_feature_length", cfg.get("visual_feature_length").getAsString())
                .with("fusion_embed_dim", cfg.get("fusion_embed_dim").getAsString())
                .with("llm_backbone_id", llmId());
    }

    /**
     * The catalog id of the golden-fixture LLM this fixture's decoder is, read from its HF config (the
     * {@code llm_backbone} block of a MERV fixture, or the config itself for an LLM fixture): {@code qwen2} is
     * {@code qwen2-tiny}; a {@code llama} with {@code llama3} RoPE scaling is {@link Catalog#TINY_LLAMA3}, else
     * {@code llama2-tiny}. Fails naming the fixture when the config is neither.
     */
    public String llmId() {
        JsonObject c = config().has("llm_backbone") ? config().getAsJsonObject("llm_backbone") : config();
        String type = c.has("model_type") ? c.get("model_type").getAsString() : "";
        switch (type) {
            case "qwen2":
                return "qwen2-tiny";
            case "llama": {
                JsonElement scaling = c.get("rope_scaling");
                boolean llama3 = scaling != null && scaling.isJsonObject() && scaling.getAsJsonObject().has("rope_type")
                        && scaling.getAsJsonObject().get("rope_type").getAsString().equals("llama3");
                return llama3 ? Catalog.TINY_LLAMA3 : "llama2-tiny";
            }
            default:
                throw new AssertionError("fixture '" + name + "': config.json has no LLM model_type (llama or qwen2), got '"
                        + type + "'");
        }
    }

    public JsonObject config() {
        return config;
    }

    public JsonObject meta() {
        return meta;
    }

    public Path file(String relative) {
        Path p = dir.resolve(relative);
        if (!Files.exists(p)) {
            throw new AssertionError("fixture '" + name + "' incomplete: no " + relative);
        }
        return p;
    }

    /** {@code io.safetensors}: inputs, outputs, grads, hidden. */
    public SafeTensors io() {
        if (io == null) {
            io = SafeTensors.open(file("io.safetensors"));
        }
        return io;
    }

    /** {@code model.safetensors}: the weights, upstream names. */
    public SafeTensors model() {
        if (model == null) {
            model = SafeTensors.open(file("model.safetensors"));
        }
        return model;
    }

    /** A tensor of {@code io.safetensors} in its stored dtype; fails naming the fixture when absent. */
    public NDArray io(String tensor, NDManager manager) {
        if (!io().contains(tensor)) {
            throw new AssertionError("fixture '" + name + "' has no tensor '" + tensor + "' in io.safetensors");
        }
        return io().load(tensor, manager, null);
    }

    public NDArray ioFloat(String tensor, NDManager manager) {
        if (!io().contains(tensor)) {
            throw new AssertionError("fixture '" + name + "' has no tensor '" + tensor + "' in io.safetensors");
        }
        return io().load(tensor, manager, ScalarType.FLOAT32);
    }

    /** Names in {@code io.safetensors} starting with {@code prefix}, sorted. */
    public List<String> ioNames(String prefix) {
        List<String> out = new ArrayList<>();
        for (String n : io().names()) {
            if (n.startsWith(prefix)) {
                out.add(n);
            }
        }
        out.sort(null);
        return out;
    }

    /** A list-valued meta entry (inputs/outputs/grads/hidden). */
    public List<String> metaList(String key) {
        List<String> out = new ArrayList<>();
        JsonElement e = meta.get(key);
        if (e != null && e.isJsonArray()) {
            e.getAsJsonArray().forEach(x -> out.add(x.getAsString()));
        }
        return out;
    }

    public double atol() {
        return meta.has("atol") ? meta.get("atol").getAsDouble() : 1e-5;
    }

    public double rtol() {
        return meta.has("rtol") ? meta.get("rtol").getAsDouble() : 1e-4;
    }

    public double gradAtol() {
        return meta.has("grad_atol") ? meta.get("grad_atol").getAsDouble() : atol();
    }

    /**
     * The tolerance for one tensor: its entry in {@code meta.tolerances} when present, else
     * {@code grad_atol} for {@code grad.*} and {@code atol} otherwise, with the fixture's rtol.
     */
    public Tolerance tolerance(String tensor) {
        JsonElement t = meta.get("tolerances");
        if (t != null && t.isJsonObject() && t.getAsJsonObject().has(tensor)) {
            JsonObject o = t.getAsJsonObject().getAsJsonObject(tensor);
            return new Tolerance(o.has("atol") ? o.get("atol").getAsDouble() : atol(),
                    o.has("rtol") ? o.get("rtol").getAsDouble() : rtol());
        }
        return new Tolerance(tensor.startsWith("grad.") ? gradAtol() : atol(), rtol());
    }

    /** Asserts {@code actual} matches {@code io[tensor]} within {@link #tolerance}. */
    public void assertMatches(String tensor, NDArray actual) {
        try (NDManager m = actual.getManager().newSubManager()) {
            NDArray expected = ioFloat(tensor, m);
            Tolerance tol = tolerance(tensor);
            Compare.assertClose(name + ":" + tensor, actual, expected, tol.atol(), tol.rtol());
        }
    }

    @Override
    public void close() {
        if (io != null) {
            io.close();
        }
        if (model != null) {
            model.close();
        }
    }

    /** Elementwise {@code |actual - expected| <= atol + rtol * |expected|}. */
    public record Tolerance(double atol, double rtol) {}
}
