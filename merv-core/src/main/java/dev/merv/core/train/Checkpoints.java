package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoint directories (merv-reference.md §7, with W12/W13 fixed). A checkpoint is
 * {@code {run}/checkpoints/step-XXXXXX-epoch-YY-loss=L.LLLL/}, written under a temporary name and
 * renamed when complete, holding:
 *
 * <ul>
 *   <li>{@code model.safetensors}: every trainable tensor in fp32 under its model name;
 *   <li>{@code optimizer-rank-R-of-N.safetensors}: replica R's fp32 master piece and AdamW moments of
 *       every bucket, with the bucket layout and per-tensor step counts in the metadata, so any
 *       replica count can rebuild the full state;
 *   <li>{@code state.json}: global step, epoch, step within the epoch (the sampler position),
 *       scheduler, RNG (the trainer's counter-based seed), consecutive non-finite steps.
 * </ul>
 *
 * {@code checkpoints/latest} names the newest one (replaced atomically instead of copying 27 GB,
 * W13); older ones beyond {@code keep_checkpoints} are deleted.
 */
public final class Checkpoints {

    static final String LATEST = "latest";
    static final String STATE = "state.json";
    static final String MODEL = "model.safetensors";
    private static final Pattern SHARD = Pattern.compile("optimizer-rank-(\\d+)-of-(\\d+)\\.safetensors");
    private static final Pattern NAME = Pattern.compile("step-(\\d+)-epoch-(\\d+)-loss=.*");
    private static final Gson GSON = new Gson();

    private Checkpoints() {}

    static String shardFile(int rank, int replicas) {
        return "optimizer-rank-" + rank + "-of-" + replicas + ".safetensors";
    }

    static Map<String, String> shardMetadata(FlatLayout layout, long[] bucketSteps) {
        JsonObject counts = new JsonObject();
        for (FlatLayout.Bucket b : layout.buckets()) {
            for (FlatLayout.Entry e : b.entries()) {
                counts.addProperty(e.name(), bucketSteps[b.index()]);
            }
        }
        return Map.of("layout", layout.toJson().toString(), "steps", counts.toString());
    }

    /** The newest checkpoint of a run directory, from {@code checkpoints/latest}; fails if there is none. */
    public static Path latest(Path runDir) {
        Path pointer = runDir.resolve("checkpoints").resolve(LATEST);
        if (!Files.exists(pointer)) {
            throw new IllegalStateException("--resume: no checkpoint in " + runDir + " (" + pointer + " missing)");
        }
        try {
            Path dir = runDir.resolve("checkpoints").resolve(Files.readString(pointer).trim());
            if (!Files.isDirectory(dir)) {
                throw new IllegalStateException("--resume: " + pointer + " names " + dir + ", which does not exist");
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonObject readState(Path ckpt) {
        Path f = ckpt.resolve(STATE);
        if (!Files.exists(f)) {
            throw new IllegalStateException("not a merv checkpoint: " + ckpt + " has no " + STATE);
        }
        try {
            return GSON.fromJson(Files.readString(f), JsonObject.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
    }

    static void writeAtomically(Path file, String text) {
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    /**
     * Full per-tensor optimizer state of a checkpoint, whatever replica count wrote it:
     * {@code name -> [master, exp_avg, exp_avg_sq]} in {@code manager}, plus step counts in {@code steps}.
     */
    static Map<String, NDArray[]> readOptimizer(Path ckpt, NDManager manager, Map<String, Long> steps) {
        List<Path> shards = new ArrayList<>();
        int replicas = -1;
        try (Stream<Path> s = Files.list(ckpt)) {
            for (Path p : s.toList()) {
                Matcher m = SHARD.matcher(p.getFileName().toString());
                if (m.matches()) {
                    shards.add(p);
                    replicas = Integer.parseInt(m.group(2));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + ckpt, e);
        }
        if (shards.isEmpty() || shards.size() != replicas) {
            throw new IllegalStateException("checkpoint " + ckpt + ": expected " + replicas + " optimizer shard files, found "
                    + shards.size());
        }
        shards.sort(Comparator.comparingInt(p -> {
            Matcher m = SHARD.matcher(p.getFileName().toString());
            m.matches();
            return Integer.parseInt(m.group(1));
        }));
        List<SafeTensors> files = new ArrayList<>();
        try {
            for (Path p : shards) {
                files.add(SafeTensors.open(p));
            }
            Map<String, String> meta = files.get(0).metadata();
            if (meta == null || !meta.containsKey("layout")) {
                throw new IllegalStateException(shards.get(0) + ": no 'layout' metadata");
            }
            JsonObject layout = GSON.fromJson(meta.get("layout"), JsonObject.class);
            JsonObject counts = GSON.fromJson(meta.get("steps"), JsonObject.class);
            counts.entrySet().forEach(e -> steps.put(e.getKey(), e.getValue().getAsLong()));
            Map<String, NDArray[]> out = new HashMap<>();
            JsonArray buckets = layout.getAsJsonArray("buckets");
            String[] kinds = {"master", "exp_avg", "exp_avg_sq"};
            for (int b = 0; b < buckets.size(); b++) {
                JsonObject jb = buckets.get(b).getAsJsonObject();
                for (int k = 0; k < 3; k++) {
                    List<NDArray> pieces = new ArrayList<>();
                    for (SafeTensors f : files) {
                        String key = "bucket." + b + "." + kinds[k];
                        if (!f.contains(key)) {
                            throw new IllegalStateException(f.file() + ": missing tensor " + key);
                        }
                        pieces.add(f.load(key, manager, ScalarType.FLOAT32));
                    }
                    NDArray full = pieces.size() == 1 ? pieces.get(0)
                            : ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(pieces), 0);
                    for (JsonElement je : jb.getAsJsonArray("entries")) {
                        JsonObject e = je.getAsJsonObject();
                        long off = e.get("offset").getAsLong();
                        long n = e.get("numel").getAsLong();
                        try (NDArray view = FlatOps.slice(full, off, off + n)) {
                            NDArray copy = dev.merv.core.torch.Torch.clone(view);
                            copy.attach(manager);
                            out.computeIfAbsent(e.get("name").getAsString(), x -> new NDArray[3])[k] = copy;
                        }
                    }
                    if (full != pieces.get(0)) {
                        full.close();
                    }
                    pieces.forEach(NDArray::close);
                }
            }
            return out;
        } finally {
            files.forEach(SafeTensors::close);
        }
    }

    /** Deletes the oldest checkpoint directories beyond {@code keep} (0 keeps all). */
    static void rotate(Path checkpoints, int keep) {
        if (keep <= 0) {
            return;
        }
        List<Path> all = list(checkpoints);
        for (int i = 0; i + keep < all.size(); i++) {
            deleteTree(all.get(i));
        }
    }

    /** Completed checkpoint directories, oldest first (by step). */
    public static List<Path> list(Path checkpoints) {
        if (!Files.isDirectory(checkpoints)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(checkpoints)) {
            return s.filter(Files::isDirectory)
                    .filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(p -> {
                        Matcher m = NAME.matcher(p.getFileName().toString());
                        m.matches();
                        return Long.parseLong(m.group(1));
                    }))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }
}
