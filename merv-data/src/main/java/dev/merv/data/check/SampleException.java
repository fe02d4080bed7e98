package dev.merv.data.check;

/**
 * A dataset entry that cannot be turned into a sample. Carries the {@link SkipReason} so the
 * loader and the checker can count and report it; the message names the file or field.
 */
public final class SampleException extends Exception {

    private final SkipReason reason;

    public SampleException(SkipReason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public SampleException(SkipReason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public SkipReason reason() {
        return reason;
    }
}
