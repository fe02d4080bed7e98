package dev.merv.core.train;

import java.nio.file.Path;

/**
 * A checkpoint could not be written (typically: no space left on the device). The checkpoint's temporary
 * directory is removed and every earlier checkpoint is left as it was; the message names the file and the
 * cause, and, when the trainer stops because of it, the checkpoint a resume would continue from.
 */
public final class CheckpointWriteException extends RuntimeException {

    private final Path file;

    public CheckpointWriteException(Path file, String what, Throwable cause) {
        super(what + " (" + file + "): " + describe(cause), cause);
        this.file = file;
    }

    CheckpointWriteException(String message, CheckpointWriteException cause) {
        super(message, cause);
        this.file = cause.file;
    }

    /** The file or directory that could not be written. */
    public Path file() {
        return file;
    }

    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return root.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }
}
