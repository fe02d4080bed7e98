package dev.merv.core.config;

import java.util.Locale;

/**
 * {@code --resume}: whether a run continues from a checkpoint of its run directory.
 *
 * <ul>
 *   <li>{@link #NEVER} ({@code false}, the default): start at step 0;
 *   <li>{@link #REQUIRED} ({@code true}): continue from the newest intact checkpoint; fail when there is none;
 *   <li>{@link #AUTO} ({@code auto}): continue from the newest intact checkpoint if there is one, else start
 *       fresh, so one command line serves a job's first start and all its restarts (preemption, requeue).
 * </ul>
 */
public enum Resume {
    NEVER("false"),
    REQUIRED("true"),
    AUTO("auto");

    private final String flag;

    Resume(String flag) {
        this.flag = flag;
    }

    /** The flag value that selects this mode ({@code false}, {@code true}, {@code auto}). */
    public String flag() {
        return flag;
    }

    /** Whether a checkpoint may be resumed from (required or if present). */
    public boolean enabled() {
        return this != NEVER;
    }

    /** {@code true}/{@code yes}/{@code 1}, {@code false}/{@code no}/{@code 0}, {@code auto}. */
    public static Resume parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        return switch (t) {
            case "true", "yes", "1", "required" -> REQUIRED;
            case "false", "no", "0", "never" -> NEVER;
            case "auto" -> AUTO;
            default -> throw new ConfigException("--resume " + text + ": expected true (a checkpoint must exist), false"
                    + " or auto (the newest intact checkpoint if there is one, else a fresh start)");
        };
    }

    /** The boolean form of {@code --resume}: true = {@link #REQUIRED}, false = {@link #NEVER}. */
    public static Resume of(boolean on) {
        return on ? REQUIRED : NEVER;
    }

    @Override
    public String toString() {
        return flag;
    }
}
