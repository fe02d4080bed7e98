package dev.merv.core.train;

/**
 * The reference's {@code linear-warmup+cosine-decay} schedule (docs/reference.md §6.3), i.e. HF
 * {@code get_cosine_schedule_with_warmup} with half a cycle: multiplier
 * {@code f(t) = t / max(1, W)} for {@code t < W}, else {@code max(0, 0.5 (1 + cos(pi (t - W) / max(1, T - W))))},
 * with {@code W = int(T * warmupRatio)} and {@code T} the real number of optimizer steps.
 *
 * <p>Which multiplier an optimizer step uses: the reference sets every group's lr to 0 right after
 * building the scheduler and steps the scheduler after each optimizer step, so optimizer step 0
 * runs at lr 0 (Adam's moments still move) and step {@code k >= 1} at {@code peak * f(k)} —
 * {@link FirstStep#ZERO_LR}, the default, for parity. W11 calls that a wasted step;
 * {@link FirstStep#SHIFTED} is the named fix: step {@code k} uses {@code peak * f(k + 1)}.
 */
public final class LrSchedule {

    /** How optimizer step 0 is treated; see the class comment. */
    public enum FirstStep { ZERO_LR, SHIFTED }

    private final double peak;
    private final long totalSteps;
    private final long warmupSteps;
    private final FirstStep firstStep;

    public LrSchedule(double peak, long totalSteps, long warmupSteps, FirstStep firstStep) {
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("LR schedule: total optimizer steps must be > 0, got " + totalSteps);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("LR schedule: warmup steps must be >= 0, got " + warmupSteps);
        }
        this.peak = peak;
        this.totalSteps = totalSteps;
        this.warmupSteps = warmupSteps;
        this.firstStep = firstStep;
    }

    /** The reference's warmup length {@code int(T * ratio)} (Python truncation). */
    public static long warmupSteps(long totalSteps, double warmupRatio) {
        return (long) Math.floor(totalSteps * warmupRatio);
    }

    public static LrSchedule warmupCosine(double peak, long totalSteps, double warmupRatio, FirstStep firstStep) {
        return new LrSchedule(peak, totalSteps, warmupSteps(totalSteps, warmupRatio), firstStep);
    }

    /** HF's lambda at {@code t} completed scheduler steps. */
    public double multiplier(long t) {
        if (t < warmupSteps) {
            return (double) t / Math.max(1, warmupSteps);
        }
        double progress = (double) (t - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
    }

    /** The learning rate optimizer step {@code step} (0-based) uses. */
    public double lr(long step) {
        if (firstStep == FirstStep.SHIFTED) {
            return peak * multiplier(step + 1);
        }
        return step == 0 ? 0.0 : peak * multiplier(step);
    }

    public double peak() {
        return peak;
    }

    public long totalSteps() {
        return totalSteps;
    }

    public long warmupSteps() {
        return warmupSteps;
    }

    public FirstStep firstStep() {
        return firstStep;
    }
}
