package dev.merv.core.train;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Where a run starts: its run directory locked for this process ({@link RunLock}), leftovers of a writer
 * that died removed, and the checkpoint it continues from ({@link Checkpoints#choose}: the newest intact
 * one, damaged ones reported and skipped) or a fresh start. Everything here happens before any weights
 * load. A {@link Trainer} built from it owns it and releases the lock when closed; a recipe that must know
 * whether the run resumes before building its model (e.g. to skip a stage hand-off) opens it first.
 */
public final class RunStart implements AutoCloseable {

    private final Path runDir;
    private final RunLock lock;
    private final Checkpoints.Choice choice;

    private RunStart(Path runDir, RunLock lock, Checkpoints.Choice choice) {
        this.runDir = runDir;
        this.lock = lock;
        this.choice = choice;
    }

    /** Locks the run directory of {@code cfg} and picks where it starts; problems are reported on {@code report}. */
    public static RunStart open(TrainConfig cfg, PrintStream report) {
        cfg.validate();
        Path runDir = cfg.runDir();
        RunLock lock = RunLock.acquire(runDir, report);
        try {
            Checkpoints.removeLeftovers(runDir);
            Path explicit = cfg.resumeFromCheckpoint == null ? null : Path.of(cfg.resumeFromCheckpoint);
            return new RunStart(runDir, lock, Checkpoints.choose(runDir, cfg.resume, explicit, report));
        } catch (RuntimeException | Error e) {
            lock.close();
            throw e;
        }
    }

    public Path runDir() {
        return runDir;
    }

    /** Whether training continues from a checkpoint. */
    public boolean resumes() {
        return choice.checkpoint() != null;
    }

    /** The checkpoint training continues from, or null for a fresh start. */
    public Path checkpoint() {
        return choice.checkpoint();
    }

    /** Damaged checkpoints that were skipped (each names the file and what is wrong). */
    public List<Checkpoints.Damage> damaged() {
        return choice.damaged();
    }

    /** Why this start: {@code newest checkpoint}, {@code no checkpoint yet}, {@code --resume false}, ... */
    public String reason() {
        return choice.reason();
    }

    /** One line for the console: which checkpoint, or a fresh start, and why. */
    public String describe() {
        String skipped = choice.damaged().isEmpty() ? "" : "; skipped damaged: " + String.join("; ",
                choice.damaged().stream().map(Checkpoints.Damage::toString).toList());
        return resumes() ? "resuming from " + choice.checkpoint() + " (" + choice.reason() + skipped + ")"
                : "starting fresh in " + runDir + " (" + choice.reason() + skipped + ")";
    }

    /** Releases the run directory's lock (idempotent). */
    @Override
    public void close() {
        lock.close();
    }
}
