package dev.merv.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.merv.core.torch.ScalarType;
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
import java.util.stream.Stream;

/**
 * A model directory in Hugging Face layout: {@code config.json} plus either
 * {@code model.safetensors} or a sharded {@code model.safetensors.index.json}. Found by explicit path
 * or in the HF cache ({@code $HF_HOME/hub/models--org--name/snapshots/<rev>/}, revision from
 * {@code refs/main} unless given). Pickled checkpoints ({@code *.bin}, {@code *.pt}) are never
 * executed: a directory that has only those is an error that says how to convert it.
 */
public final class ModelDirectory implements WeightSource, AutoCloseable {

    private final Path dir;
    private final Map<String, SafeTensors> shardFor;
    private final List<SafeTensors> shards;

    private ModelDirectory(Path dir, Map<String, SafeTensors> shardFor, List<SafeTensors> shards) {
        this.dir = dir;
        this.shardFor = shardFor;
        this.shards = shards;
    }

    /** Opens a local directory holding safetensors weights. */
    public static ModelDirectory open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model directory " + dir + " does not exist");
        }
        Path index = dir.resolve("model.safetensors.index.json");
        Map<String, SafeTensors> byName = new LinkedHashMap<>();
        List<SafeTensors> opened = new ArrayList<>();
        try {
            if (Files.exists(index)) {
                JsonObject map = parse(index).getAsJsonObject().getAsJsonObject("weight_map");
                if (map == null) {
                    throw new WeightFormatException(index, null, "no 'weight_map' object");
                }
                Map<String, SafeTensors> byFile = new LinkedHashMap<>();
                for (Map.Entry<String, JsonElement> e : map.entrySet()) {
                    String shardName = e.getValue().getAsString();
                    Path shard = dir.resolve(shardName).normalize();
                    if (!shard.startsWith(dir.normalize())) {
                        throw new WeightFormatException(index, e.getKey(), "shard path escapes the directory: " + shardName);
                    }
                    SafeTensors st = byFile.get(shardName);
                    if (st == null) {
                        st = SafeTensors.open(shard);
                        byFile.put(shardName, st);
                        opened.add(st);
                    }
                    if (!st.contains(e.getKey())) {
                        throw new WeightFormatException(shard, e.getKey(), "listed in " + index.getFileName() + " but not in the shard");
                    }
                    byName.put(e.getKey(), st);
                }
            } else {
                List<Path> files;
                try (Stream<Path> s = Files.list(dir)) {
                    files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
                }
                if (files.isEmpty()) {
                    boolean pickled;
                    try (Stream<Path> s = Files.list(dir)) {
                        pickled = s.anyMatch(p -> p.toString().endsWith(".bin") || p.toString().endsWith(".pt")
                                || p.toString().endsWith(".pth"));
                    }
                    throw new IllegalArgumentException(dir + " has no safetensors weights"
                            + (pickled ? " (only pickled .bin/.pt files, which merv never executes; convert them"
                                    + " to safetensors first, e.g. with the safetensors 'convert' script)" : ""));
                }
                for (Path f : files) {
                    SafeTensors st = SafeTensors.open(f);
                    opened.add(st);
                    for (String n : st.names()) {
                        SafeTensors prev = byName.put(n, st);
                        if (prev != null) {
                            throw new WeightFormatException(f, n, "also present in " + prev.file().getFileName());
                        }
                    }
                }
            }
        } catch (IOException e) {
            opened.forEach(SafeTensors::close);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            opened.forEach(SafeTensors::close);
            throw e;
        }
        return new ModelDirectory(dir, Collections.unmodifiableMap(byName), List.copyOf(opened));
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
        SafeTensors st = shardFor.get(name);
        if (st == null) {
            throw new WeightFormatException(dir, name, "no such tensor in any shard");
        }
        return st.info(name);
    }

    @Override
    public NDArray load(String name, NDManager manager, ScalarType as) {
        SafeTensors st = shardFor.get(name);
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
        shards.forEach(SafeTensors::close);
    }
}
