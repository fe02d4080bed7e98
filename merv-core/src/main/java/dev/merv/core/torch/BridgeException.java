package dev.merv.core.torch;

/**
 * A bridged ATen call that libtorch refused, or that merv refused before calling (unknown schema
 * kind, wrong argument count or kind). Carries the op and a summary of the arguments, because
 * libtorch 2.7's C entry point only prints its own reason to stderr.
 */
public final class BridgeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String op;

    public BridgeException(String op, String message) {
        super(op + ": " + message);
        this.op = op;
    }

    public String op() {
        return op;
    }
}
