package dev.merv.core.train;

import java.nio.file.Path;

/** Thrown when too many consecutive steps had a non-finite loss or gradient norm; a checkpoint was written first. */
public final class TrainingDivergedException extends RuntimeException {

    private final transient Path checkpoint;

    public TrainingDivergedException(String message, Path checkpoint) {
        super(message);
        this.checkpoint = checkpoint;
    }

    /** The checkpoint written before stopping. */
    public Path checkpoint() {
        return checkpoint;
    }
}
