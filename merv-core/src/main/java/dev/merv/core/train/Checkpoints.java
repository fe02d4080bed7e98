package dev.merv.core.train;

import dev.merv.core.io.FileTrees;
import dev.merv.core.io.AtomicFiles;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.merv.core.config.Resume;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoint directories (the reference's, with W12/W13 of docs/parity.md fixed): the one class that
 * writes, verifies and reads the format. A checkpoint is
 * {@code {run}/checkpoints/step-XXXXXX-epoch-YY-loss=L.LLLL/}, written under a temporary name
 * ({@code .tmp-step-...}) and renamed when complete, holding:
 *
 * <ul>
 *   <li>{@code model.safetensors}: every trainable tensor in fp32 under its model name;
 *   <li>{@code optimizer-rank-R-of-N.safetensors}: replica R's fp32 master piece and AdamW moments of
 *       every bucket, with the bucket layout and per-tensor step counts in the metadata, so any
 *       replica count can rebuild the full state;
 *   <li>the run's configuration files and the files the model adds ({@link TrainableModel#checkpointFiles},
 *       e.g. adapter weights);
 *   <li>{@code state.json}, written last: global step, epoch, step within the epoch (the sampler position),
 *       scheduler, RNG (the trainer's counter-based seed), consecutive non-finite steps, the smoothed
 *       metrics' window, and the size and CRC-32C checksum of every other file ({@code files}).
 * </ul>
 *
 * {@code checkpoints/latest} names the newest one (replaced atomically instead of copying 27 GB, W13).
 * {@link #verify} checks a checkpoint against its {@code files} record; {@link #choose} picks the newest intact
 * checkpoint to resume from, reporting each damaged one it skips. Rotation keeps the newest
 * {@code keep_checkpoints} and never deletes the checkpoint just written. A write that fails (a full disk)
 * removes its temporary directory and leaves every earlier checkpoint as it was.
 */
public final class Checkpoints {

    static final String LATEST = "latest";
    static final String STATE = "state.json";
    static final String MODEL = "model.safetensors";
    static final String TMP_PREFIX = ".tmp-";
    private static final String OLD_PREFIX = ".old-";
    private static final Pattern SHARD = Pattern.compile("optimizer-rank-(\\d+)-of-(\\d+)\\.safetensors");
    private static final Pattern NAME = Pattern.compile("step-(\\d+)-epoch-(\\d+)-loss=.*");
    private static final Gson GSON = new Gson();
    private static final int CHECKSUM_BUFFER = 1 << 20;

    /**
     * Test hook: called before every write step of a checkpoint with the step's name (a file name,
     * {@code rename} or {@code latest}) and the path about to be written. Throwing simulates a full disk at that
     * point. Null in production.
     */
    interface WriteHook {
        void before(String step, Path file) throws IOException;
    }

    static volatile WriteHook writeHook;

    private Checkpoints() {}

    /** One file of a checkpoint as {@code state.json} records it. */
    public record FileEntry(String name, long size, String crc32c) {}

    /** A checkpoint that failed verification: which file and what is wrong with it. */
    public record Damage(Path checkpoint, String file, String problem) {
        @Override
        public String toString() {
            return checkpoint.getFileName() + "/" + file + ": " + problem;
        }
    }

    /**
     * The smoothed metrics' window at a checkpoint (the reference's 128-entry deques), so a resumed run logs
     * the same smoothed values as an uninterrupted one.
     */
    public record Smoothing(double[] losses, double[] stepTimes) {
        static final Smoothing EMPTY = new Smoothing(new double[0], new double[0]);
    }

    /** Where a resume starts: a checkpoint (null for a fresh start), the damaged ones skipped, and why. */
    public record Choice(Path checkpoint, List<Damage> damaged, String reason) {
        public Choice {
            damaged = List.copyOf(damaged);
        }
    }

    /**
     * What {@code state.json} records besides the tensors: where training stands and how to continue it.
     *
     * @param stepInEpoch the sampler position (global batches already taken from {@code epoch})
     * @param scheduleTotalSteps the schedule length T; a resume with another T is refused
     * @param smoothing the smoothed metrics' window (empty in checkpoints written before it was recorded)
     */
    public record State(long step, int epoch, long stepInEpoch, int replicas, int nonFiniteInRow, double lastLoss,
            double peakLr, long scheduleTotalSteps, long warmupSteps, String firstStep, double nextLr, long seed,
            BatchPlan plan, Smoothing smoothing) {

        public State {
            smoothing = smoothing == null ? Smoothing.EMPTY : smoothing;
        }

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
            JsonObject window = new JsonObject();
            window.add("loss", doubles(smoothing.losses()));
            window.add("step_time", doubles(smoothing.stepTimes()));
            state.add("metrics_window", window);
            return state;
        }

        static State fromJson(JsonObject o, Path file) {
            try {
                JsonObject sched = o.getAsJsonObject("scheduler");
                Smoothing smoothing = Smoothing.EMPTY;
                if (o.has("metrics_window")) {
                    JsonObject w = o.getAsJsonObject("metrics_window");
                    smoothing = new Smoothing(doubles(w.getAsJsonArray("loss")), doubles(w.getAsJsonArray("step_time")));
                }
                return new State(o.get("step").getAsLong(), o.get("epoch").getAsInt(), o.get("step_in_epoch").getAsLong(),
                        o.get("replicas").getAsInt(), o.get("nonfinite_in_row").getAsInt(), o.get("last_loss").getAsDouble(),
                        sched.get("peak_lr").getAsDouble(), sched.get("total_steps").getAsLong(),
                        sched.get("warmup_steps").getAsLong(), sched.get("first_step").getAsString(),
                        sched.get("next_lr").getAsDouble(), o.getAsJsonObject("rng").get("seed").getAsLong(),
                        GSON.fromJson(o.get("plan"), BatchPlan.class), smoothing);
            } catch (RuntimeException e) {
                throw new IllegalStateException(file + ": not a merv checkpoint state (" + e.getMessage() + ")", e);
            }
        }

        private static JsonArray doubles(double[] v) {
            JsonArray a = new JsonArray();
            for (double x : v) {
                // JSON has no NaN/Infinity: a non-finite loss in the window is kept as a string
                if (Double.isFinite(x)) {
                    a.add(x);
                } else {
                    a.add(Double.toString(x));
                }
            }
            return a;
        }

        private static double[] doubles(JsonArray a) {
            double[] v = new double[a.size()];
            for (int i = 0; i < v.length; i++) {
                JsonElement e = a.get(i);
                v[i] = e.getAsJsonPrimitive().isString() ? Double.parseDouble(e.getAsString()) : e.getAsDouble();
            }
            return v;
        }
    }

    /** {@code step-XXXXXX-epoch-YY-loss=L.LLLL}: the reference's checkpoint name for a state. */
    static String name(long step, int epoch, double loss) {
        return String.format(java.util.Locale.ROOT, "step-%06d-epoch-%02d-loss=%.4f", step, epoch, loss);
    }

    // ------------------------------------------------------------------------------------------ writing

    /** A fresh temporary directory for checkpoint {@code name} under {@code runDir/checkpoints}. */
    static Path begin(Path runDir, String name) {
        Path tmp = runDir.resolve("checkpoints").resolve(TMP_PREFIX + name);
        try {
            hook("begin", tmp);
            FileTrees.delete(tmp);
            Files.createDirectories(tmp);
        } catch (IOException | UncheckedIOException e) {
            abandon(tmp);
            throw new CheckpointWriteException(tmp, "cannot create the temporary directory", e);
        }
        return tmp;
    }

    /** Replica {@code rank}'s optimizer shard (masters, moments, step counts, the bucket layout). */
    static FileEntry writeShard(Path tmp, int rank, int replicas, ZeroShard shard, FlatLayout layout) {
        return writeFile(tmp, shardFile(rank, replicas), f -> SafeTensorsWriter.write(f, shard.stateTensors(),
                shardMetadata(layout, shard.steps)));
    }

    /** The trainable weights in fp32 under their model names (what inference and a stage hand-off read). */
    static FileEntry writeModel(Path tmp, Map<String, NDArray> weights) {
        return writeFile(tmp, MODEL, f -> SafeTensorsWriter.write(f, weights, Map.of("format", "pt")));
    }

    /** Writes the contents of one checkpoint file at the path it is given. */
    @FunctionalInterface
    public interface ContentWriter {
        void write(Path file) throws IOException;
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
        void write(Path dir, Map<String, NDArray> weights) throws IOException;
    }

    /**
     * Writes one file of the checkpoint being built in {@code tmp} and returns its size and checksum, read
     * back from the file system. {@link #commit} also records any other file it finds in {@code tmp} (a
     * recipe's {@link ExtraFiles}).
     */
    public static FileEntry writeFile(Path tmp, String name, ContentWriter writer) {
        Path f = tmp.resolve(name);
        try {
            hook(name, f);
            writer.write(f);
            return describe(f, name);
        } catch (IOException | UncheckedIOException e) {
            throw new CheckpointWriteException(f, "cannot write " + name, e);
        }
    }

    /**
     * Finishes a checkpoint: the run's configuration files, {@code state.json} with the size and checksum of
     * every file in the directory, the atomic rename, the {@code latest} pointer and {@link #rotate rotation}.
     * Returns the checkpoint directory. On failure the temporary directory is removed and a
     * {@link CheckpointWriteException} names what could not be written; earlier checkpoints are untouched.
     *
     * @param written the files already written (with their checksums) by {@link #writeFile} and friends
     */
    static Path commit(Path tmp, State state, Map<String, String> configFiles, List<FileEntry> written, int keep) {
        Path dir = tmp.getParent();
        String name = tmp.getFileName().toString().substring(TMP_PREFIX.length());
        Path target = dir.resolve(name);
        try {
            Map<String, FileEntry> files = new TreeMap<>();
            written.forEach(e -> files.put(e.name(), e));
            for (Map.Entry<String, String> e : configFiles.entrySet()) {
                FileEntry fe = writeFile(tmp, e.getKey(), f -> writeForced(f, e.getValue()));
                files.put(fe.name(), fe);
            }
            try (Stream<Path> s = Files.list(tmp)) {
                for (Path p : s.sorted().toList()) {
                    String n = p.getFileName().toString();
                    if (Files.isRegularFile(p) && !n.equals(STATE) && !files.containsKey(n)) {
                        files.put(n, describe(p, n));
                    }
                }
            }
            JsonObject json = state.toJson();
            JsonObject manifest = new JsonObject();
            for (FileEntry e : files.values()) {
                JsonObject f = new JsonObject();
                f.addProperty("size", e.size());
                f.addProperty("crc32c", e.crc32c());
                manifest.add(e.name(), f);
            }
            json.add("files", manifest);
            String text = new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(json);
            hook(STATE, tmp.resolve(STATE));
            writeForced(tmp.resolve(STATE), text);
            forceDirectory(tmp);
            hook("rename", target);
            // an earlier checkpoint of the same step (one found damaged and skipped, or written before a restart
            // from an older point) is superseded: moved aside first, deleted once the new one is in place
            List<Path> old = new ArrayList<>();
            for (Path p : list(dir)) {
                if (step(p) == state.step()) {
                    Path aside = dir.resolve(OLD_PREFIX + p.getFileName());
                    FileTrees.delete(aside);
                    Files.move(p, aside, StandardCopyOption.ATOMIC_MOVE);
                    old.add(aside);
                }
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            forceDirectory(dir);
            old.forEach(Checkpoints::deleteQuietly);
        } catch (IOException | UncheckedIOException e) {
            abandon(tmp);
            throw new CheckpointWriteException(target, "cannot finish the checkpoint", e);
        } catch (CheckpointWriteException e) {
            abandon(tmp);
            throw e;
        }
        try {
            hook(LATEST, dir.resolve(LATEST));
            writeAtomically(dir.resolve(LATEST), name);
        } catch (IOException | UncheckedIOException e) {
            // the checkpoint itself is complete; the pointer still names the previous one
            throw new CheckpointWriteException(dir.resolve(LATEST), "checkpoint " + target + " is complete, but the"
                    + " 'latest' pointer could not be updated", e);
        }
        rotate(dir, keep, target);
        return target;
    }

    /** Removes a temporary checkpoint directory after a failed write (best effort: it may be what failed). */
    static void abandon(Path tmp) {
        deleteQuietly(tmp);
    }

    /** Removes what a writer that died left behind ({@code .tmp-*} and {@code .old-*} directories). */
    static List<Path> removeLeftovers(Path runDir) {
        Path dir = runDir.resolve("checkpoints");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<Path> removed = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(TMP_PREFIX) || n.startsWith(OLD_PREFIX) || n.equals(LATEST + ".tmp")) {
                    deleteQuietly(p);
                    removed.add(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return removed;
    }

    private static void hook(String step, Path file) throws IOException {
        WriteHook h = writeHook;
        if (h != null) {
            h.before(step, file);
        }
    }

    private static void writeForced(Path file, String text) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    /** fsync of a directory, so a rename inside it survives a power loss; not possible everywhere (ignored). */
    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // some platforms and file systems cannot open or sync a directory; the rename is still atomic
        }
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

    // ------------------------------------------------------------------------------------------ checking

    /** Size and CRC-32C of a file as it is on disk. */
    static FileEntry describe(Path file, String name) throws IOException {
        CRC32C crc = new CRC32C();
        long size = 0;
        ByteBuffer buf = ByteBuffer.allocate(CHECKSUM_BUFFER);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            while (ch.read(buf) >= 0) {
                buf.flip();
                size += buf.remaining();
                crc.update(buf);
                buf.clear();
            }
        }
        return new FileEntry(name, size, String.format(java.util.Locale.ROOT, "%08x", crc.getValue()));
    }

    /**
     * Checks a checkpoint directory against the sizes and checksums its {@code state.json} records. Returns the
     * problems found (empty when intact): a missing or unreadable {@code state.json} (an incomplete
     * checkpoint), a missing file, a file of another size (cut short, as a node dying mid-copy or a full disk
     * leaves it) or with other contents. Checkpoints written before checksums were recorded are accepted on
     * their {@code state.json} alone.
     */
    public static List<Damage> verify(Path ckpt) {
        Path stateFile = ckpt.resolve(STATE);
        if (!Files.isRegularFile(stateFile)) {
            return List.of(new Damage(ckpt, STATE, "missing (an incomplete checkpoint)"));
        }
        JsonObject json;
        try {
            json = GSON.fromJson(Files.readString(stateFile, StandardCharsets.UTF_8), JsonObject.class);
            if (json == null) {
                throw new IllegalStateException("empty");
            }
            State.fromJson(json, stateFile);
        } catch (IOException | RuntimeException e) {
            return List.of(new Damage(ckpt, STATE, "unreadable (" + e.getMessage() + ")"));
        }
        if (!json.has("files")) {
            return List.of();
        }
        List<Damage> out = new ArrayList<>();
        List<Map.Entry<String, JsonElement>> files = new ArrayList<>(json.getAsJsonObject("files").entrySet());
        List<Map.Entry<String, JsonElement>> sizeOk = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : files) {
            Path f = ckpt.resolve(e.getKey());
            long expected = e.getValue().getAsJsonObject().get("size").getAsLong();
            try {
                if (!Files.isRegularFile(f)) {
                    out.add(new Damage(ckpt, e.getKey(), "missing"));
                    continue;
                }
                long size = Files.size(f);
                if (size != expected) {
                    out.add(new Damage(ckpt, e.getKey(), String.format(java.util.Locale.ROOT,
                            "%,d bytes, %,d expected (%s)", size, expected, size < expected ? "cut short" : "grown")));
                    continue;
                }
                sizeOk.add(e);
            } catch (IOException ex) {
                out.add(new Damage(ckpt, e.getKey(), "unreadable (" + ex.getMessage() + ")"));
            }
        }
        // the cheap size checks first; checksums only of files whose size is right
        for (Map.Entry<String, JsonElement> e : sizeOk) {
            String expected = e.getValue().getAsJsonObject().get("crc32c").getAsString();
            try {
                String actual = describe(ckpt.resolve(e.getKey()), e.getKey()).crc32c();
                if (!actual.equals(expected)) {
                    out.add(new Damage(ckpt, e.getKey(), "contents changed (crc32c " + actual + ", " + expected
                            + " recorded)"));
                }
            } catch (IOException ex) {
                out.add(new Damage(ckpt, e.getKey(), "unreadable (" + ex.getMessage() + ")"));
            }
        }
        return out;
    }

    /**
     * Where a run in {@code runDir} starts. An explicit {@code checkpoint} must be intact. Otherwise, with
     * {@code --resume} on, the checkpoints up to the one {@code latest} names are verified newest first and the
     * first intact one is chosen; each damaged one is reported on {@code report} and skipped. With none intact,
     * {@link Resume#AUTO} starts fresh and {@link Resume#REQUIRED} fails naming every problem.
     */
    public static Choice choose(Path runDir, Resume mode, Path checkpoint, PrintStream report) {
        if (checkpoint != null) {
            List<Damage> d = verify(checkpoint);
            if (!d.isEmpty()) {
                throw new IllegalStateException("--resume_from_checkpoint " + checkpoint + " is damaged: " + join(d));
            }
            return new Choice(checkpoint, List.of(), "--resume_from_checkpoint");
        }
        if (!mode.enabled()) {
            return new Choice(null, List.of(), "--resume false");
        }
        List<Path> candidates = new ArrayList<>(timeline(runDir.resolve("checkpoints")));
        java.util.Collections.reverse(candidates);
        List<Damage> damaged = new ArrayList<>();
        for (Path c : candidates) {
            List<Damage> d = verify(c);
            if (d.isEmpty()) {
                String why = damaged.isEmpty() ? "newest checkpoint" : "newest intact checkpoint (" + damaged.size()
                        + " damaged one(s) skipped)";
                return new Choice(c, damaged, why);
            }
            report.println("resume: checkpoint " + c + " is damaged, skipping it: " + join(d));
            report.flush();
            damaged.addAll(d);
        }
        if (mode == Resume.REQUIRED) {
            throw new IllegalStateException("--resume true: no intact checkpoint in " + runDir.resolve("checkpoints")
                    + (damaged.isEmpty() ? " (there is none yet; --resume auto starts fresh when there is none)"
                            : ": " + join(damaged)));
        }
        return new Choice(null, damaged, damaged.isEmpty() ? "no checkpoint yet" : "no intact checkpoint");
    }

    /**
     * Completed checkpoints up to the one {@code latest} names (all of them without a readable pointer),
     * oldest first: newer ones belong to a run this directory later restarted from an older point.
     */
    private static List<Path> timeline(Path checkpoints) {
        List<Path> all = list(checkpoints);
        Path pointer = checkpoints.resolve(LATEST);
        long head = Long.MAX_VALUE;
        try {
            if (Files.isRegularFile(pointer)) {
                Matcher m = NAME.matcher(Files.readString(pointer, StandardCharsets.UTF_8).trim());
                if (m.matches()) {
                    head = Long.parseLong(m.group(1));
                }
            }
        } catch (IOException | RuntimeException e) {
            // an unreadable pointer: every checkpoint is a candidate
        }
        final long h = head;
        return all.stream().filter(p -> step(p) <= h).toList();
    }

    private static String join(List<Damage> d) {
        return String.join("; ", d.stream().map(Damage::toString).toList());
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
     * The optimizer state of a checkpoint read range by range: a replica asks for exactly the elements it owns
     * ({@link ZeroShard#restore(ZeroShard.StateReader, Map)}), and only those bytes are read from the shard files
     * that hold them, whatever replica count wrote the checkpoint. Step counts go into {@code steps}. Close it to
     * close the files.
     */
    static final class OptimizerReader implements ZeroShard.StateReader, AutoCloseable {
        private static final String[] KINDS = {"master", "exp_avg", "exp_avg_sq"};
        private final List<SafeTensors> files = new ArrayList<>();
        /** name -> {bucket, offset in the bucket, numel} in the writer's layout. */
        private final Map<String, long[]> where = new HashMap<>();
        private final long[] piece;

        OptimizerReader(Path ckpt, Map<String, Long> steps) {
            List<Path> shards = shardFiles(ckpt);
            try {
                for (Path p : shards) {
                    files.add(SafeTensors.open(p));
                }
                Map<String, String> meta = files.get(0).metadata();
                if (meta == null || !meta.containsKey("layout")) {
                    throw new IllegalStateException(shards.get(0) + ": no 'layout' metadata");
                }
                JsonObject layout = GSON.fromJson(meta.get("layout"), JsonObject.class);
                GSON.fromJson(meta.get("steps"), JsonObject.class).entrySet()
                        .forEach(e -> steps.put(e.getKey(), e.getValue().getAsLong()));
                JsonArray buckets = layout.getAsJsonArray("buckets");
                piece = new long[buckets.size()];
                for (int b = 0; b < buckets.size(); b++) {
                    JsonObject jb = buckets.get(b).getAsJsonObject();
                    piece[b] = jb.get("piece").getAsLong();
                    for (JsonElement je : jb.getAsJsonArray("entries")) {
                        JsonObject e = je.getAsJsonObject();
                        where.put(e.get("name").getAsString(), new long[] {b, e.get("offset").getAsLong(),
                            e.get("numel").getAsLong()});
                    }
                }
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        @Override
        public NDArray read(String name, int kind, long from, long to, NDManager scope) {
            long[] w = where.get(name);
            if (w == null) {
                throw new IllegalStateException("checkpoint has no optimizer state for trainable parameter '" + name + "'");
            }
            if (from < 0 || to > w[2] || from > to) {
                throw new IllegalStateException("optimizer state of '" + name + "' has " + w[2] + " elements; asked for ["
                        + from + ", " + to + ")");
            }
            int b = (int) w[0];
            long k = piece[b];
            String key = "bucket." + b + "." + KINDS[kind];
            List<NDArray> parts = new ArrayList<>();
            for (long g = w[1] + from; g < w[1] + to; ) {
                int shard = (int) (g / k);
                long end = Math.min(w[1] + to, (shard + 1) * k);
                SafeTensors f = files.get(shard);
                if (!f.contains(key)) {
                    throw new IllegalStateException(f.file() + ": missing tensor " + key);
                }
                NDArray part = f.loadRange(key, g - shard * k, end - shard * k, scope);
                parts.add(Torch.dtype(part) == ScalarType.FLOAT32 ? part : Torch.to(part, ScalarType.FLOAT32));
                g = end;
            }
            if (parts.size() == 1) {
                return parts.get(0);
            }
            NDArray all = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(parts), 0);
            all.attach(scope);
            return all;
        }

        @Override
        public void close() {
            files.forEach(SafeTensors::close);
        }
    }

    /** The optimizer shard files of a checkpoint in rank order; fails when one is missing. */
    private static List<Path> shardFiles(Path ckpt) {
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
        return shards;
    }


    /**
     * Deletes the oldest checkpoints beyond {@code keep} (0 keeps all) among those up to {@code committed},
     * which is never deleted. It runs only right after {@code committed} is complete, so the checkpoint a
     * resume started from goes only once a newer one exists. Newer checkpoints of an abandoned run (this
     * directory restarted from an older point) are left alone until overwritten. A checkpoint that cannot
     * be deleted is reported and kept: rotation never stops a run.
     */
    static void rotate(Path checkpoints, int keep, Path committed) {
        if (keep <= 0) {
            return;
        }
        long head = step(committed);
        List<Path> ours = list(checkpoints).stream().filter(p -> step(p) <= head).toList();
        for (int i = 0; i + keep < ours.size(); i++) {
            Path p = ours.get(i);
            if (p.getFileName().equals(committed.getFileName())) {
                continue;
            }
            try {
                FileTrees.delete(p);
            } catch (UncheckedIOException e) {
                System.err.println("checkpoints: could not delete the old checkpoint " + p + " (" + e.getCause()
                        + "); it is kept");
            }
        }
    }

    /** The global step in a checkpoint directory's name. */
    static long step(Path ckpt) {
        Matcher m = NAME.matcher(ckpt.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(ckpt + " is not named step-XXXXXX-epoch-YY-loss=L");
        }
        return Long.parseLong(m.group(1));
    }

    /** Completed checkpoint directories, oldest first (by step). */
    public static List<Path> list(Path checkpoints) {
        if (!Files.isDirectory(checkpoints)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(checkpoints)) {
            return s.filter(Files::isDirectory)
                    .filter(p -> NAME.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(Checkpoints::step))
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            FileTrees.delete(dir);
        } catch (UncheckedIOException e) {
            System.err.println("checkpoints: could not remove " + dir + " (" + e.getCause() + ")");
        }
    }
}
