package dev.merv.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.torch.TorchCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * A model directory in Hugging Face layout: {@code config.json} plus weights as
 * {@code model.safetensors} or a sharded {@code model.safetensors.index.json}, or as a torch.save
 * {@code pytorch_model.bin} or a sharded {@code pytorch_model.bin.index.json} (safetensors preferred
 * when both are there). Found by explicit path or in the HF cache
 * ({@code $HF_HOME/hub/models--org--name/snapshots/<rev>/}, revision from {@code refs/main} unless
 * given). Pickled checkpoints are read as data by {@link TorchCheckpoint}, never executed; other
 * {@code .bin}/{@code .pt} files in the directory are ignored.
 */
public final class ModelDirectory implements WeightSource, AutoCloseable {

    private final Path dir;
    private final Map<String, WeightSource> shardFor;
    private final List<WeightSource> shards;

    private ModelDirectory(Path dir, Map<String, WeightSource> shardFor, List<WeightSource> shards) {
        this.dir = dir;
        this.shardFor = shardFor;
        this.shards = shards;
    }

    /**
     * Opens a local directory holding weights, in this order of preference:
     * {@code model.safetensors.index.json}, the {@code *.safetensors} files,
     * {@code pytorch_model.bin.index.json}, {@code pytorch_model.bin}.
     */
    public static ModelDirectory open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model directory " + dir + " does not exist");
        }
        Map<String, WeightSource> byName = new LinkedHashMap<>();
        List<WeightSource> opened = new ArrayList<>();
        try {
            Path stIndex = dir.resolve("model.safetensors.index.json");
            Path binIndex = dir.resolve(TORCH_INDEX);
            List<Path> stFiles;
            try (Stream<Path> s = Files.list(dir)) {
                stFiles = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            if (Files.exists(stIndex)) {
                readIndex(dir, stIndex, SafeTensors::open, byName, opened);
            } else if (!stFiles.isEmpty()) {
                for (Path f : stFiles) {
                    addFile(SafeTensors.open(f), f, byName, opened);
                }
            } else if (Files.exists(binIndex)) {
                readIndex(dir, binIndex, TorchCheckpoint::open, byName, opened);
            } else if (Files.exists(dir.resolve(TORCH_FILE))) {
                addFile(TorchCheckpoint.open(dir.resolve(TORCH_FILE)), dir.resolve(TORCH_FILE), byName, opened);
            } else {
                boolean pickled;
                try (Stream<Path> s = Files.list(dir)) {
                    pickled = s.anyMatch(p -> p.toString().endsWith(".bin") || p.toString().endsWith(".pt")
                            || p.toString().endsWith(".pth"));
                }
                throw new IllegalArgumentException(dir + " has no weights: no model.safetensors[.index.json], no "
                        + TORCH_FILE + "[.index.json]" + (pickled ? " (other .bin/.pt files are not read as weights;"
                                + " convert one with ./merv convert FILE " + dir.resolve("model.safetensors") + ")" : ""));
            }
        } catch (IOException e) {
            closeAll(opened);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            closeAll(opened);
            throw e;
        }
        return new ModelDirectory(dir, Collections.unmodifiableMap(byName), List.copyOf(opened));
    }

    /** The HF name of a single pickled checkpoint and of a sharded one's index. */
    public static final String TORCH_FILE = "pytorch_model.bin";
    public static final String TORCH_INDEX = "pytorch_model.bin.index.json";

    private static void readIndex(Path dir, Path index, Function<Path, WeightSource> opener, Map<String, WeightSource> byName,
            List<WeightSource> opened) {
        JsonObject map = parse(index).getAsJsonObject().getAsJsonObject("weight_map");
        if (map == null) {
            throw new WeightFormatException(index, null, "no 'weight_map' object");
        }
        Map<String, WeightSource> byFile = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : map.entrySet()) {
            String shardName = e.getValue().getAsString();
            Path shard = dir.resolve(shardName).normalize();
            if (!shard.startsWith(dir.normalize())) {
                throw new WeightFormatException(index, e.getKey(), "shard path escapes the directory: " + shardName);
            }
            WeightSource src = byFile.get(shardName);
            if (src == null) {
                src = opener.apply(shard);
                byFile.put(shardName, src);
                opened.add(src);
            }
            if (!src.names().contains(e.getKey())) {
                throw new WeightFormatException(shard, e.getKey(), "listed in " + index.getFileName() + " but not in the shard");
            }
            byName.put(e.getKey(), src);
        }
    }

    private static void addFile(WeightSource src, Path f, Map<String, WeightSource> byName, List<WeightSource> opened) {
        opened.add(src);
        for (String n : src.names()) {
            WeightSource prev = byName.put(n, src);
            if (prev != null) {
                throw new WeightFormatException(f, n, "also present in " + Path.of(prev.describe()).getFileName());
            }
        }
    }

    private static void closeAll(List<WeightSource> sources) {
        for (WeightSource s : sources) {
            if (s instanceof AutoCloseable) {
                try {
                    ((AutoCloseable) s).close();
                } catch (Exception ignored) {
                    // closing a read-only file; the original failure is what matters
                }
            }
        }
    }

    /** The files the tensors come from (safetensors files or torch.save checkpoints). */
    public List<WeightSource> shards() {
        return shards;
    }

    /** The HF cache root: {@code $HF_HOME} or {@code ~/.cache/huggingface}, plus {@code hub}. */
    public static Path hfCacheHub() {
        String home = System.getenv("HF_HOME");
        Path root = home != null && !home.isBlank() ? Path.of(home)
                : Path.of(System.getProperty("user.home"), ".cache", "huggingface");
        String hub = System.getenv("HF_HUB_CACHE");
        return hub != null && !hub.isBlank() ? Path.of(hub) : root.resolve("hub");
    }

    /**
     * Resolves {@code org/name} in the HF cache layout under {@code hub} (revision: refs/main unless given;
     * a branch, tag or {@code refs/pr/N} is looked up in the repo's {@code refs/} folder, a commit directly).
     */
    public static Optional<Path> findInCache(Path hub, String repoId, String revision) {
        Path repo = hub.resolve("models--" + repoId.replace("/", "--"));
        if (!Files.isDirectory(repo)) {
            return Optional.empty();
        }
        String rev = revision;
        try {
            if (rev == null) {
                Path ref = repo.resolve("refs").resolve("main");
                if (Files.exists(ref)) {
                    rev = Files.readString(ref, StandardCharsets.UTF_8).trim();
                }
            } else if (Files.exists(repo.resolve("refs").resolve(rev))) {
                rev = Files.readString(repo.resolve("refs").resolve(rev), StandardCharsets.UTF_8).trim();
            } else if (rev.startsWith("refs/") && !rev.contains("..")) {
                // a pull-request or branch ref (cached under refs/refs/...) this cache never fetched
                return Optional.empty();
            }
            Path snaps = repo.resolve("snapshots");
            if (rev != null && (rev.isEmpty() || rev.contains("/") || rev.contains("\\") || rev.startsWith("."))) {
                throw new IllegalArgumentException("revision '" + rev + "' of " + repo + " is not a snapshot name");
            }
            if (rev != null && Files.isDirectory(snaps.resolve(rev))) {
                return Optional.of(snaps.resolve(rev));
            }
            if (rev == null && Files.isDirectory(snaps)) {
                try (Stream<Path> s = Files.list(snaps)) {
                    List<Path> all = s.filter(Files::isDirectory).sorted().toList();
                    if (all.size() == 1) {
                        return Optional.of(all.get(0));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Optional.empty();
    }

    /**
     * An explicit directory when it exists, else {@code repoId} in the HF cache found through the
     * environment ({@link #hfCacheHub()}); the error lists where it looked.
     */
    public static Path resolve(String pathOrRepoId) {
        return resolve(pathOrRepoId, hfCacheHub());
    }

    /** As {@link #resolve(String)} with an explicit hub directory ({@code <HF_HOME>/hub}). */
    public static Path resolve(String pathOrRepoId, Path hub) {
        Path p = Path.of(pathOrRepoId);
        if (Files.isDirectory(p)) {
            return p;
        }
        return findInCache(hub, pathOrRepoId, null).orElseThrow(() -> new IllegalArgumentException(
                "weights for '" + pathOrRepoId + "' not found: not a directory, and not in the HF cache at "
                        + hub.resolve("models--" + pathOrRepoId.replace("/", "--"))
                        + "/snapshots/<rev> (set HF_HOME or pass a local directory)"));
    }

    @Override
    public String describe() {
        return dir.toString();
    }

    public Path dir() {
        return dir;
    }

    @Override
    public Set<String> names() {
        return shardFor.keySet();
    }

    public boolean contains(String name) {
        return shardFor.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        WeightSource st = shardFor.get(name);
        if (st == null) {
            throw new WeightFormatException(dir, name, "no such tensor in any shard");
        }
        return st.info(name);
    }

    @Override
    public NDArray load(String name, NDManager manager, ScalarType as) {
        WeightSource st = shardFor.get(name);
        if (st == null) {
            throw new WeightFormatException(dir, name, "no such tensor in any shard");
        }
        return st.load(name, manager, as);
    }

    /** {@code config.json} of this directory as a JSON object. */
    public JsonObject config() {
        return readConfig(dir);
    }

    public static JsonObject readConfig(Path dir) {
        Path cfg = dir.resolve("config.json");
        if (!Files.exists(cfg)) {
            throw new IllegalArgumentException(dir + " has no config.json");
        }
        return parse(cfg).getAsJsonObject();
    }

    private static JsonElement parse(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + file, e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closeAll(shards);
    }
}
