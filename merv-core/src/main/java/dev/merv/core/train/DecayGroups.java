package dev.merv.core.train;

/**
 * The reference's AdamW parameter groups (docs/reference.md §6.2, fsdp.py): "no-decay" for every
 * parameter with at most one dimension or whose name ends in {@code .bias}; "decay" for the rest.
 * The fusion query {@code Q} ({@code [1, D]}, two dimensions) and embedding / LM-head matrices are
 * decayed, as in the reference (W8 notes Q's decay; kept because it changes what a checkpoint computes).
 */
public final class DecayGroups {

    private DecayGroups() {}

    /** True when the parameter belongs to the weight-decay group. */
    public static boolean decays(String name, long[] shape) {
        return shape.length >= 2 && !name.endsWith(".bias");
    }
}
