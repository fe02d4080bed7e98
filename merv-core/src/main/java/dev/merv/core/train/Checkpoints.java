package dev.merv.core.train;

import dev.merv.core.io.AtomicFiles;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
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

    /**
     * What {@code state.json} records besides the tensors: where training stands and how to continue it.
     *
     * @param stepInEpoch the sampler position (global batches already taken from {@code epoch})
     * @param scheduleTotalSteps the schedule length T; a resume with another T is refused
     */
    public record State(long step, int epoch, long stepInEpoch, int replicas, int nonFiniteInRow, double lastLoss,
            double peakLr, long scheduleTotalSteps, long warmupSteps, String firstStep, double nextLr, long seed,
            BatchPlan plan) {

        JsonObject toJson() {
            JsonObject state = new JsonObject();
            state.addProperty("step", step);
            state.addProperty("epoch", epoch);
            state.addProperty("step_in_epoch", stepInEpoch);
            state.addProperty("replicas", replicas);
            state.addProperty("nonfinite_in_row", nonFiniteInRow);
            state.addProperty("last_loss", lastLoss);
            JsonObject sched = new JsonObject();
            sched.addProperty("type", "linear-warmup+cosine-decay");
            sched.addProperty("peak_lr", peakLr);
            sched.addProperty("total_steps", scheduleTotalSteps);
            sched.addProperty("warmup_steps", warmupSteps);
            sched.addProperty("first_step", firstStep);
            sched.addProperty("next_lr", nextLr);
            state.add("scheduler", sched);
            JsonObject rng = new JsonObject();
            rng.addProperty("kind", "counter: every random draw derives from (seed, epoch, step, rank, micro)");
            rng.addProperty("seed", seed);
            state.add("rng", rng);
            state.add("plan", GSON.toJsonTree(plan));
            return state;
        }

        static State fromJson(JsonObject o, Path file) {
            try {
                JsonObject sched = o.getAsJsonObject("scheduler");
                return new State(o.get("step").getAsLong(), o.get("epoch").getAsInt(), o.get("step_in_epoch").getAsLong(),
                        o.get("replicas").getAsInt(), o.get("nonfinite_in_row").getAsInt(), o.get("last_loss").getAsDouble(),
                        sched.get("peak_lr").getAsDouble(), sched.get("total_steps").getAsLong(),
                        sched.get("warmup_steps").getAsLong(), sched.get("first_step").getAsString(),
                        sched.get("next_lr").getAsDouble(), o.getAsJsonObject("rng").get("seed").getAsLong(),
                        GSON.fromJson(o.get("plan"), BatchPlan.class));
            } catch (RuntimeException e) {
                throw new IllegalStateException(file + ": not a merv checkpoint state (" + e.getMessage() + ")", e);
            }
        }
    }

    /** {@code step-XXXXXX-epoch-YY-loss=L.LLLL}: the reference's checkpoint name for a state. */
    static String name(long step, int epoch, double loss) {
        return String.format(java.util.Locale.ROOT, "step-%06d-epoch-%02d-loss=%.4f", step, epoch, loss);
    }

    /** A fresh temporary directory for checkpoint {@code name} under {@code runDir/checkpoints}. */
    static Path begin(Path runDir, String name) {
        Path tmp = runDir.resolve("checkpoints").resolve(".tmp-" + name);
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + tmp, e);
        }
        return tmp;
    }

    /** Replica {@code rank}'s optimizer shard (masters, moments, step counts, the bucket layout). */
    static void writeShard(Path tmp, int rank, int replicas, ZeroShard shard, FlatLayout layout) {
        SafeTensorsWriter.write(tmp.resolve(shardFile(rank, replicas)), shard.stateTensors(),
                shardMetadata(layout, shard.steps));
    }

    /** The trainable weights in fp32 under their model names (what inference and a stage hand-off read). */
    static void writeModel(Path tmp, Map<String, NDArray> weights) {
        SafeTensorsWriter.write(tmp.resolve(MODEL), weights, Map.of("format", "pt"));
    }

    /**
     * Files a recipe adds to every checkpoint beside {@code model.safetensors} (LoRA's PEFT adapter files),
     * written into the checkpoint's temporary directory before it is committed.
     */
    @FunctionalInterface
    public interface ExtraFiles {
        /**
         * @param dir the checkpoint being written (renamed into place once everything is in it)
         * @param weights every trainable tensor in fp32 under its model name, as {@code model.safetensors} holds them
         */
        void write(Path dir, Map<String, NDArray> weights);
    }

    /** {@link #writeModel} and then each of {@code extras}. */
    static void writeModel(Path tmp, Map<String, NDArray> weights, List<ExtraFiles> extras) {
        writeModel(tmp, weights);
        for (ExtraFiles e : extras) {
            e.write(tmp, weights);
        }
    }

    /**
     * Finishes a checkpoint: {@code state.json}, the run's configuration files, then the atomic rename,
     * the {@code latest} pointer and rotation. Returns the checkpoint directory.
     */
    static Path commit(Path tmp, State state, Map<String, String> configFiles, int keep) {
        Path dir = tmp.getParent();
        String name = tmp.getFileName().toString().substring(".tmp-".length());
        Path target = dir.resolve(name);
        try {
            for (Map.Entry<String, String> e : configFiles.entrySet()) {
                Files.writeString(tmp.resolve(e.getKey()), e.getValue(), StandardCharsets.UTF_8);
            }
            Files.writeString(tmp.resolve(STATE), new com.google.gson.GsonBuilder().setPrettyPrinting().create()
                    .toJson(state.toJson()), StandardCharsets.UTF_8);
            deleteTree(target);
            Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot finish checkpoint " + target, e);
        }
        writeAtomically(dir.resolve(LATEST), name);
        rotate(dir, keep);
        return target;
    }

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

    /** The state of a checkpoint directory; fails naming the directory when it is not a merv checkpoint. */
    public static State readState(Path ckpt) {
        Path f = ckpt.resolve(STATE);
        if (!Files.exists(f)) {
            throw new IllegalStateException("not a merv checkpoint: " + ckpt + " has no " + STATE);
        }
        try {
            return State.fromJson(GSON.fromJson(Files.readString(f), JsonObject.class), f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
    }

    /** The trainable weights file of a checkpoint directory ({@code model.safetensors}). */
    public static Path modelFile(Path ckpt) {
        return ckpt.resolve(MODEL);
    }

    static void writeAtomically(Path file, String text) {
        AtomicFiles.writeString(file, text);
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
