package dev.merv.core.train;

import dev.merv.core.model.Precision;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * The training loop (docs/reference.md §6-7, docs/architecture.md "One training step" and "Data parallelism").
 *
 * <p>Per optimizer step, every replica (one per device, each on its own worker thread) runs its
 * {@code accumulation} micro-batches: forward (plain, or layer by layer with recomputation), backward
 * seeded with the micro-batch's weight, then its gradients go bucket by bucket into fp32 buffers and
 * are reduce-scattered to their owners. The owners divide by the step's total of supervised tokens
 * (or, in parity mode, by micro-batches x replicas), compute the global pre-clip norm, clip at
 * {@code max_grad_norm} with torch's {@code max_norm / (norm + 1e-6)}, step AdamW on their fp32
 * master pieces at the schedule's lr, and all-gather fresh compute-dtype weights. A step whose loss or
 * norm is not finite is skipped (logged); {@code max_nonfinite_steps} in a row stop the run with a
 * checkpoint.
 *
 * <p><b>Memory per device</b> (bytes), with {@code Pt} trainable and {@code Pf} frozen elements,
 * {@code c} the compute dtype's size (2 for bf16, 4 for fp32), {@code cf} the frozen weights' size,
 * {@code N} replicas and {@code Bmax} the largest padded bucket:
 *
 * <pre>
 *   M = Pf*cf + 2*Pt*c + 16*Pt/N + Bmax*(4 + c) + (16 + c)*Bmax/N + Pmax*c + activations
 * </pre>
 *
 * {@code 2*Pt*c}: compute weights and their gradients; {@code 16*Pt/N}: owned fp32 master, two moments
 * and the fp32 gradient accumulator; {@code Bmax*(4+c)}: the reduce and gather bucket buffers; the
 * next term is the receive piece, AdamW's three temporaries and the compute-dtype cast of the owned
 * piece before the all-gather; {@code Pmax*c} is the largest tensor's old and new compute copy
 * overlapping while it is republished ({@link #memoryFormula}). Activations are every layer's saved tensors without recomputation,
 * and with it the stored layer inputs ({@code L * B*T*D*c}) plus one layer's worth. Writing a
 * checkpoint adds transient host buffers on top: each replica serialises its {@code 12*Pt/N} of
 * optimizer state and rank 0 a gathered fp32 copy of the trainable weights in host memory ({@code 4*Pt};
 * nothing extra on its device). For a 7B LLM in
 * bf16 on 8 replicas: 28 GB + 14 GB + buckets. {@code TrainerMemoryTest} checks the formula against a
 * measured peak. {@link MemoryPlan} works the formula out for a model built empty.
 *
 * <p>With LoRA on the LLM (merv-llm's {@code dev.merv.llm.lora.Lora}) the LLM's own weights are frozen: they
 * count in {@code Pf} at {@code cf = c} (held in the compute dtype, no gradient, no optimizer state), and
 * {@code Pt} is only the adapters plus projectors and fusion. For Llama-2-7B with r = 128 on every linear layer
 * that is 13.5 GB of bf16 base weights and 0.32 B adapter elements, whose state is {@code 16*Pt/N} = 5.1 GB on
 * one device.
 *
 * @param <B> the micro-batch type
 */
public final class Trainer<B extends MicroBatch> implements AutoCloseable {

    /** Builds one replica's model on its device; parameters it creates live in {@code manager}. */
    public interface ReplicaFactory<B extends MicroBatch> {
        TrainableModel<B> create(int rank, Device device, NDManager manager);
    }

    /** The trainer's own settings in a run directory and in each checkpoint. */
    public static final String TRAIN_CONFIG = "train-config.json";

    private final TrainConfig cfg;
    private final BatchSource<B> source;
    private final List<Device> devices;
    private final BatchPlan plan;
    private final Collective collective;
    private final List<ExecutorService> threads = new ArrayList<>();
    private final List<Replica<B>> replicas = new ArrayList<>();
    private final List<NDManager> managers = new ArrayList<>();
    private final AdamW adam;
    private final FlatLayout layout;
    private final LrSchedule schedule;
    private final Path runDir;
    private final RunStart start;
    private final String runConfig;
    private final List<StepRecord> history = new ArrayList<>();
    private final PrintStream console = System.err;

    private long globalStep;
    private int epoch;
    private long stepInEpoch;
    private int nonFiniteInRow;
    private double lastLoss = Double.POSITIVE_INFINITY;
    private long lastCheckpointStep = -1;
    private Path lastCheckpoint;
    private int failedCheckpointsInRow;
    private Checkpoints.Smoothing smoothing = Checkpoints.Smoothing.EMPTY;
    private final java.util.Set<String> reportedFailures = new java.util.HashSet<>();
    private boolean closed;
    private java.util.function.Consumer<StepRecord> listener = r -> { };
    private final List<Checkpoints.ExtraFiles> extraFiles = new ArrayList<>();

    /**
     * Locks the run directory, picks where training starts ({@link RunStart#open}) and builds the replicas.
     *
     * @param runConfig the run's configuration as its recipe writes it (for MERV, the reference's full
     *     {@code config.json} text), written as {@code config.json} in the run directory and in every
     *     checkpoint; null writes none. The trainer's own settings always go to {@code train-config.json}.
     */
    public Trainer(TrainConfig cfg, ReplicaFactory<B> factory, BatchSource<B> source, String runConfig) {
        this(cfg, RunStart.open(cfg, System.err), factory, source, runConfig);
    }

    /**
     * As {@link #Trainer(TrainConfig, ReplicaFactory, BatchSource, String)} with the run's start already
     * opened (by a recipe that needed to know whether it resumes); the trainer owns {@code start} from here on
     * and releases it on {@link #close} or when construction fails.
     */
    public Trainer(TrainConfig cfg, RunStart start, ReplicaFactory<B> factory, BatchSource<B> source, String runConfig) {
        this.start = start;
        try {
            cfg.validate();
            this.cfg = cfg;
            this.source = source;
            this.runConfig = runConfig;
            this.runDir = cfg.runDir();
            if (!runDir.toAbsolutePath().normalize().equals(start.runDir().toAbsolutePath().normalize())) {
                throw new IllegalArgumentException("the run start is for " + start.runDir() + ", the config for " + runDir);
            }
            this.devices = Devices.parse(cfg.devices);
            this.plan = BatchPlan.of(cfg.globalBatchSize, cfg.perDeviceBatchSize, devices.size());
            this.collective = Collectives.forDevices(devices);
            this.adam = new AdamW(cfg.beta1, cfg.beta2, cfg.eps);
            long total = cfg.maxSteps > 0 ? cfg.maxSteps : 0;
            if (total == 0) {
                for (int e = 0; e < cfg.epochs; e++) {
                    total += source.stepsPerEpoch(e, plan);
                }
            }
            this.schedule = LrSchedule.warmupCosine(cfg.learningRate, total, cfg.warmupRatio, cfg.firstStep);
            this.layout = build(factory);
            if (start.resumes()) {
                restore(start.checkpoint());
            }
        } catch (RuntimeException | Error e) {
            try {
                release();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Starts one worker thread and manager per device, builds the models and replicas; returns the layout. */
    private FlatLayout build(ReplicaFactory<B> factory) {
        for (int r = 0; r < devices.size(); r++) {
            final int rank = r;
            threads.add(Executors.newSingleThreadExecutor(run -> {
                Thread t = new Thread(run, "merv-replica-" + rank);
                t.setDaemon(true);
                return t;
            }));
            managers.add(NDManager.newBaseManager(devices.get(r)));
        }
        List<TrainableModel<B>> models = onAll(r -> factory.create(r, devices.get(r), managers.get(r)));
        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        models.get(0).parameters().forEach((n, p) -> {
            if (p.trainable()) {
                names.add(n);
                shapes.add(p.shape().getShape());
            }
        });
        if (names.isEmpty()) {
            throw new IllegalStateException("no trainable parameters (stage " + cfg.stage.id() + ")");
        }
        if (cfg.recompute && models.get(0).layered() == null) {
            throw new IllegalArgumentException("recompute=true but " + models.get(0).getClass().getSimpleName()
                    + " offers no layer-wise forward");
        }
        FlatLayout built = FlatLayout.build(names, shapes, devices.size(), cfg.bucketCapElements);
        ScalarType compute = cfg.precision.compute();
        ScalarType reduce = cfg.reduceType();
        onAll(r -> {
            Replica<B> rep = new Replica<>(r, devices.get(r), managers.get(r), models.get(r), built, names, compute, reduce);
            synchronized (replicas) {
                while (replicas.size() <= r) {
                    replicas.add(null);
                }
                replicas.set(r, rep);
            }
            return null;
        });
        onAll(r -> {
            Replica<B> rep = replicas.get(r);
            if (cfg.precision == Precision.BF16) {
                rep.castFrozen();
            }
            rep.initialise(collective);
            return null;
        });
        return built;
    }

    /**
     * Runs until the schedule's last step (or {@code stop_after_steps}), checkpointing every
     * {@code save_checkpoint_after} steps, at the end of every epoch when {@code max_steps} is unset (as the
     * reference does) and at the end. The start (fresh, or which checkpoint and why) is printed and logged as
     * the first {@code metrics.jsonl} line of this invocation.
     */
    public List<StepRecord> run() {
        writeConfig();
        if (cfg.console) {
            System.out.println(summary());
            System.out.println(start.describe());
        }
        ProgressLine progress = cfg.console ? new ProgressLine(console, globalStep, schedule.totalSteps()) : null;
        long ranHere = 0;
        try (MetricsLog metrics = new MetricsLog(runDir.resolve("metrics.jsonl"), globalStep, cfg.stage.metricPrefix(),
                smoothing, console)) {
            metrics.start(globalStep, start.checkpoint(), start.reason(),
                    start.damaged().stream().map(Checkpoints.Damage::toString).toList());
            while (globalStep < schedule.totalSteps() && (cfg.stopAfterSteps <= 0 || ranHere < cfg.stopAfterSteps)) {
                long perEpoch = source.stepsPerEpoch(epoch, plan);
                if (stepInEpoch >= perEpoch) {
                    epoch++;
                    stepInEpoch = 0;
                    continue;
                }
                final int ep = epoch;
                final long sie = stepInEpoch;
                final double lr = schedule.lr(globalStep);
                long t0 = System.nanoTime();
                List<Replica.StepStats> stats = onAll(r -> replicas.get(r).trainStep(source, plan, ep, sie, lr, cfg, adam,
                        collective));
                double dt = (System.nanoTime() - t0) / 1e9;
                Replica.StepStats s = stats.get(0);
                globalStep++;
                stepInEpoch++;
                ranHere++;
                StepRecord rec = new StepRecord(globalStep, ep, s.loss(), lr, s.gradNorm(), s.updated(), s.tokens(),
                        s.samples(), s.skippedSamples(), s.loaderWaitS(), dt, s.mixing(), s.cacheLookups(), s.cacheHits());
                history.add(rec);
                metrics.write(rec, s.microLosses(), schedule.lr(globalStep));
                smoothing = metrics.smoothing();
                if (progress != null) {
                    optional("the progress bar", () -> progress.update(rec));
                }
                optional("an onStep listener", () -> listener.accept(rec));
                if (s.updated()) {
                    lastLoss = s.loss();
                    nonFiniteInRow = 0;
                } else {
                    nonFiniteInRow++;
                    console.printf(Locale.ROOT, "%nstep %d: non-finite loss %s or gradient norm %s, update skipped (%d in a row)%n",
                            globalStep, s.loss(), s.gradNorm(), nonFiniteInRow);
                    if (nonFiniteInRow >= cfg.maxNonFiniteSteps) {
                        Path ck = checkpointOrStop(true);
                        throw new TrainingDivergedException("training stopped at step " + globalStep + ": " + nonFiniteInRow
                                + " consecutive steps with a non-finite loss or gradient norm (max_nonfinite_steps = "
                                + cfg.maxNonFiniteSteps + "); checkpoint written to " + ck, ck);
                    }
                }
                boolean epochEnd = cfg.maxSteps <= 0 && stepInEpoch >= perEpoch;
                if (globalStep % cfg.saveCheckpointAfter == 0 || epochEnd) {
                    checkpointOrStop(false);
                }
            }
            if (cfg.checkpointAtEnd && lastCheckpointStep != globalStep) {
                checkpointOrStop(true);
            }
        }
        return List.copyOf(history);
    }

    /**
     * A checkpoint whose write may fail (a full disk): the failure is reported and training goes on while
     * fewer than {@code checkpoint_failures} scheduled ones failed in a row; otherwise, and always for a
     * {@code last} one (nothing would retry it), the run stops naming the checkpoint a resume would use.
     * Returns the checkpoint, or null when it failed and training goes on.
     */
    private Path checkpointOrStop(boolean last) {
        try {
            Path p = checkpoint();
            failedCheckpointsInRow = 0;
            return p;
        } catch (CheckpointWriteException e) {
            failedCheckpointsInRow++;
            String previous = lastCheckpoint == null ? "there is no earlier checkpoint of this run"
                    : "the previous checkpoint " + lastCheckpoint + " is intact";
            if (!last && failedCheckpointsInRow <= cfg.checkpointFailures) {
                console.printf(Locale.ROOT, "%ncheckpoint at step %d failed: %s%n  training goes on and retries at the next"
                        + " checkpoint (step %d at the latest; %d of %d failed checkpoints in a row allowed by"
                        + " --checkpoint_failures); %s%n", globalStep,
                        e.getMessage(), (globalStep / cfg.saveCheckpointAfter + 1) * cfg.saveCheckpointAfter,
                        failedCheckpointsInRow, cfg.checkpointFailures, previous);
                return null;
            }
            throw new CheckpointWriteException("training stopped at step " + globalStep + ": the checkpoint could not be"
                    + " written: " + e.getMessage() + ". Its temporary files are removed and " + previous + "; free space"
                    + " and restart with --resume auto to continue from it" + (last ? "" : " (--checkpoint_failures N keeps"
                    + " training through N failed checkpoints in a row)"), e);
        }
    }

    /** Runs an optional part of a step (progress bar, listener); a failure is reported once and training goes on. */
    private void optional(String what, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            if (reportedFailures.add(what)) {
                console.println();
                console.println("training goes on without " + what + ", which failed at step " + globalStep + ": " + e);
                e.printStackTrace(console);
            }
        }
    }

    /**
     * Writes a checkpoint of the current state and returns its directory ({@link Checkpoints} holds the format).
     * A failed write throws {@link CheckpointWriteException} with the temporary directory removed and earlier
     * checkpoints untouched; the replicas stay usable (a failing file write does not abort the collective).
     */
    public Path checkpoint() {
        Path tmp = Checkpoints.begin(runDir, Checkpoints.name(globalStep, epoch, lastLoss));
        try {
            List<Written> perRank = onAll(r -> {
                Replica<B> rep = replicas.get(r);
                List<Checkpoints.FileEntry> files = new ArrayList<>();
                CheckpointWriteException failure = null;
                try {
                    files.add(Checkpoints.writeShard(tmp, r, devices.size(), rep.shard, layout));
                } catch (CheckpointWriteException e) {
                    failure = e;
                }
                // every rank takes part in the gather even after its own write failed; rank 0's fp32 weights go to
                // host memory tensor by tensor, not into a second copy on its device
                try (NDManager m = NDManager.newBaseManager(Device.cpu()); var ng = Torch.noGrad()) {
                    Map<String, NDArray> weights = rep.shard.gatherMastersToHost(collective, r == 0, m);
                    if (r == 0 && failure == null) {
                        try {
                            files.add(Checkpoints.writeModel(tmp, weights));
                            for (Checkpoints.ExtraFiles extra : extraFiles) {
                                extra.write(tmp, weights); // recorded by commit with every other file it finds
                            }
                        } catch (CheckpointWriteException e) {
                            failure = e;
                        } catch (IOException | RuntimeException e) {
                            failure = new CheckpointWriteException(tmp, "cannot write the recipe's checkpoint files", e);
                        }
                    }
                }
                return new Written(files, failure);
            });
            List<Checkpoints.FileEntry> files = new ArrayList<>();
            for (Written w : perRank) {
                if (w.failure() != null) {
                    throw w.failure();
                }
                files.addAll(w.files());
            }
            Checkpoints.State state = new Checkpoints.State(globalStep, epoch, stepInEpoch, devices.size(), nonFiniteInRow,
                    lastLoss, schedule.peak(), schedule.totalSteps(), schedule.warmupSteps(), schedule.firstStep().name(),
                    schedule.lr(globalStep), cfg.seed, plan, smoothing);
            Path target = Checkpoints.commit(tmp, state, configFiles(), files, cfg.keepCheckpoints);
            lastCheckpointStep = globalStep;
            lastCheckpoint = target;
            return target;
        } finally {
            // after a failure anywhere (a commit moves it away when it succeeds)
            if (java.nio.file.Files.exists(tmp)) {
                Checkpoints.abandon(tmp);
            }
        }
    }

    /** What one replica wrote of a checkpoint, or why it could not. */
    private record Written(List<Checkpoints.FileEntry> files, CheckpointWriteException failure) {}

    private void restore(Path ckpt) {
        Checkpoints.State state = Checkpoints.readState(ckpt);
        if (state.scheduleTotalSteps() != schedule.totalSteps()) {
            throw new IllegalStateException("resume from " + ckpt + ": its schedule has " + state.scheduleTotalSteps()
                    + " steps, this run " + schedule.totalSteps() + " (changed epochs, max_steps, batch sizes or data?)");
        }
        globalStep = state.step();
        epoch = state.epoch();
        stepInEpoch = state.stepInEpoch();
        nonFiniteInRow = state.nonFiniteInRow();
        lastLoss = state.lastLoss();
        lastCheckpointStep = globalStep;
        lastCheckpoint = ckpt;
        smoothing = state.smoothing();
        onAll(r -> {
            Replica<B> rep = replicas.get(r);
            // each replica reads only the pieces of the optimizer state it owns
            Map<String, Long> steps = new HashMap<>();
            try (Checkpoints.OptimizerReader reader = new Checkpoints.OptimizerReader(ckpt, steps); var ng = Torch.noGrad()) {
                rep.shard.restore(reader, steps);
            }
            rep.publish(collective);
            return null;
        });
    }

    /** {@code train-config.json} (the trainer's settings) and, when given, the run's {@code config.json}. */
    private Map<String, String> configFiles() {
        com.google.gson.Gson pretty = new GsonBuilder().setPrettyPrinting().create();
        Map<String, String> files = new LinkedHashMap<>();
        files.put(TRAIN_CONFIG, pretty.toJson(cfg.toJson()));
        if (runConfig != null) {
            files.put("config.json", runConfig);
        }
        return files;
    }

    private void writeConfig() {
        try {
            Files.createDirectories(runDir.resolve("checkpoints"));
            for (Map.Entry<String, String> e : configFiles().entrySet()) {
                Files.writeString(runDir.resolve(e.getKey()), e.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the run directory " + runDir, e);
        }
    }

    /** The setup summary printed before step 1 (Prismatic style). */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        Map<String, long[]> perModule = new LinkedHashMap<>();
        for (Map.Entry<String, Param> e : replicas.get(0).model.parameters().entrySet()) {
            String top = e.getKey().contains(".") ? e.getKey().substring(0, e.getKey().indexOf('.')) : e.getKey();
            long[] c = perModule.computeIfAbsent(top, k -> new long[2]);
            c[e.getValue().trainable() ? 0 : 1] += e.getValue().numel();
        }
        long trainable = perModule.values().stream().mapToLong(c -> c[0]).sum();
        long frozen = perModule.values().stream().mapToLong(c -> c[1]).sum();
        sb.append(String.format(Locale.ROOT, "== merv training: run %s, stage %s%n", cfg.effectiveRunId(),
                cfg.stage.id()));
        perModule.forEach((k, c) -> sb.append(String.format(Locale.ROOT, "   %-24s trainable %,14d   frozen %,14d%n", k,
                c[0], c[1])));
        sb.append(String.format(Locale.ROOT, "   total                    trainable %,14d   frozen %,14d%n", trainable,
                frozen));
        sb.append(adapterSummary());
        sb.append(String.format(Locale.ROOT, "   devices %s -> %d replica(s); global batch %d = per-device %d x %d replicas x %d"
                + " accumulation%n", devices, plan.replicas(), plan.globalBatch(), plan.perDeviceBatch(), plan.replicas(),
                plan.accumulation()));
        sb.append(String.format(Locale.ROOT, "   optimizer steps %d (warmup %d = int(%d x %.4g)), peak lr %.3g, first step %s,"
                + " wd %.3g, clip %.3g%n", schedule.totalSteps(), schedule.warmupSteps(), schedule.totalSteps(),
                cfg.warmupRatio, cfg.learningRate, cfg.firstStep, cfg.weightDecay, cfg.maxGradNorm));
        sb.append(String.format(Locale.ROOT, "   precision: compute %s, masters/moments/grad accumulation fp32; recompute %s;"
                + " loss normalisation %s%n", cfg.precision, cfg.recompute, cfg.lossNormalization));
        long decay = layout.buckets().stream().filter(FlatLayout.Bucket::decay).mapToLong(FlatLayout.Bucket::numel).sum();
        sb.append(String.format(Locale.ROOT, "   AdamW groups: decay %,d / no-decay %,d elements; %d buckets, sharded over %d"
                + " replica(s); est. %.1f MiB optimizer state per replica%n", decay, trainable - decay,
                layout.buckets().size(), plan.replicas(), replicas.get(0).shard.bytes() / 1048576.0));
        sb.append(String.format(Locale.ROOT, "   run dir %s; checkpoint every %d steps, keep %d%n", runDir,
                cfg.saveCheckpointAfter, cfg.keepCheckpoints));
        if (globalStep > 0) {
            sb.append(String.format(Locale.ROOT, "   resuming at step %d (epoch %d, batch %d)%n", globalStep, epoch,
                    stepInEpoch));
        }
        return sb.toString();
    }

    /**
     * With LoRA adapters (PEFT's {@code lora_A}/{@code lora_B} names), one line of adapter vs frozen base counts of
     * the module that carries them and the optimizer state they need; empty otherwise.
     */
    private String adapterSummary() {
        Map<String, Param> params = replicas.get(0).model.parameters();
        long adapters = 0;
        String owner = null;
        for (Map.Entry<String, Param> e : params.entrySet()) {
            if (e.getValue().trainable() && (e.getKey().contains(".lora_A.") || e.getKey().contains(".lora_B."))) {
                adapters += e.getValue().numel();
                owner = e.getKey().substring(0, e.getKey().indexOf('.'));
            }
        }
        if (owner == null) {
            return "";
        }
        long base = 0;
        for (Map.Entry<String, Param> e : params.entrySet()) {
            if (!e.getValue().trainable() && e.getKey().startsWith(owner + ".")) {
                base += e.getValue().numel();
            }
        }
        MemoryPlan plan = MemoryPlan.of(params, cfg.precision, devices.size(), cfg.bucketCapElements);
        return String.format(Locale.ROOT, "   LoRA: %s adapters %,d trainable, its own weights %,d frozen (%s, no optimizer"
                + " state); all trainables' state 16 x %,d / %d = %.1f MiB per replica%n", owner, adapters, base,
                cfg.precision, plan.trainable(), plan.replicas(), plan.optimizerStateBytes() / 1048576.0);
    }

    /** Runs {@code task(rank)} on every replica thread and returns the results in rank order. */
    private <T> List<T> onAll(Function<Integer, T> task) {
        List<Future<T>> fs = new ArrayList<>();
        for (int r = 0; r < threads.size(); r++) {
            final int rank = r;
            fs.add(threads.get(r).submit(() -> task.apply(rank)));
        }
        List<T> out = new ArrayList<>();
        Throwable failure = null;
        for (Future<T> f : fs) {
            try {
                out.add(f.get());
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause();
                    collective.abort();
                }
                out.add(null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        if (failure != null) {
            if (failure instanceof RuntimeException re) {
                throw re;
            }
            if (failure instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(failure);
        }
        return out;
    }

    /** Adds files of the recipe's own to every checkpoint (e.g. LoRA's PEFT adapter files); see {@link Checkpoints.ExtraFiles}. */
    public void addCheckpointFiles(Checkpoints.ExtraFiles files) {
        extraFiles.add(files);
    }

    /** Called on the driving thread after every optimizer step (metrics sinks, probes). */
    public void onStep(java.util.function.Consumer<StepRecord> l) {
        this.listener = l;
    }

    /** NDArrays alive in the replicas' managers (weights, optimizer state, anything leaked into them). */
    public long liveArrays() {
        long n = 0;
        for (NDManager m : managers) {
            n += m.getManagedArrays().size();
        }
        return n;
    }

    public LrSchedule schedule() {
        return schedule;
    }

    public BatchPlan plan() {
        return plan;
    }

    public Path runDir() {
        return runDir;
    }

    public long globalStep() {
        return globalStep;
    }

    public List<StepRecord> history() {
        return List.copyOf(history);
    }

    /**
     * Replica {@code rank}'s model (its trainable parameters hold the compute copies of the masters). It
     * lives as long as the trainer: after {@link #close} its weights are released, so read what you need
     * before, or load the run's checkpoint afterwards.
     */
    public TrainableModel<B> model(int rank) {
        if (closed) {
            throw new IllegalStateException("the trainer is closed and its models' weights are released; use the model"
                    + " before closing the trainer (e.g. in an afterTraining listener) or load the run's checkpoint"
                    + " from " + runDir.resolve("checkpoints"));
        }
        return replicas.get(rank).model;
    }

    public FlatLayout layout() {
        return layout;
    }

    /**
     * The per-device formula of the class comment without activations, for this run's model:
     * {@code Pf*cf + 2*Pt*c + 16*Pt/N + Bmax*(4 + c) + (16 + c)*Bmax/N + Pmax*c}.
     */
    public long memoryFormula() {
        long pt = 0;
        long pmax = 0;
        long frozenBytes = 0;
        for (Param p : replicas.get(0).model.parameters().values()) {
            if (p.trainable()) {
                pt += p.numel();
                pmax = Math.max(pmax, p.numel());
            } else {
                frozenBytes += p.numel() * p.dtype().bytes();
            }
        }
        int c = cfg.precision.compute().bytes();
        int n = devices.size();
        long bmax = layout.maxPadded();
        return frozenBytes + 2 * pt * c + 16 * pt / n + bmax * (4 + c) + (16 + c) * bmax / n + pmax * c;
    }

    /** Bytes of optimizer state and bucket buffers held by one replica. */
    public long shardBytes() {
        return replicas.get(0).shard.bytes();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        release();
    }

    /** Frees the replicas, their managers and threads (also after a failed construction), then the run's lock. */
    private void release() {
        try {
            if (!threads.isEmpty()) {
                onAll(r -> {
                    Replica<B> rep = r < replicas.size() ? replicas.get(r) : null;
                    if (rep != null) {
                        rep.close();
                    }
                    managers.get(r).close();
                    return null;
                });
            }
        } finally {
            collective.close();
            threads.forEach(ExecutorService::shutdownNow);
            start.close();
        }
    }
}
