package dev.merv.core.weights;

import java.nio.file.Path;

/** A weights file that is broken or hostile: names the file and, where known, the tensor. */
public final class WeightFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public WeightFormatException(Path file, String tensor, String message) {
        super(file + (tensor == null ? "" : " [tensor '" + tensor + "']") + ": " + message);
    }

    public WeightFormatException(Path file, String tensor, String message, Throwable cause) {
        super(file + (tensor == null ? "" : " [tensor '" + tensor + "']") + ": " + message, cause);
    }
}
