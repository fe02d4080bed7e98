package dev.merv.core.train;

import java.nio.file.Path;

/** Another process (or another trainer of this one) is training into the run directory. */
public final class RunDirectoryBusyException extends IllegalStateException {

    private final Path runDir;

    RunDirectoryBusyException(Path runDir, String holder) {
        super("run directory " + runDir + " is in use by " + holder + ": only one process may train into a run"
                + " directory. Wait for it to finish or stop it, or choose another --run_id.");
        this.runDir = runDir;
    }

    public Path runDir() {
        return runDir;
    }
}
