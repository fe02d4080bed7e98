package dev.merv.eval;

import ai.djl.Device;
import dev.merv.core.train.Devices;
import dev.merv.infer.MervInference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The models an evaluation answers with, one per device, loaded only when a chunk has questions left (a resumed or
 * merged chunk never loads the model). The evaluation's prompts are the reference's own, so every model must be
 * loaded with {@link MervInference.Options#withPlaceholder placeholders off}.
 */
public final class Models implements AutoCloseable {

    private final Supplier<List<MervInference>> loader;
    private final boolean owned;
    private List<MervInference> models;

    private Models(Supplier<List<MervInference>> loader, boolean owned) {
        this.loader = loader;
        this.owned = owned;
    }

    /** Models you hold (not closed by {@link #close}). */
    public static Models of(MervInference... held) {
        List<MervInference> l = List.of(held);
        return new Models(() -> l, false);
    }

    /**
     * A run loaded on each of {@code devices} ({@code auto}: every GPU, else the CPU; see {@code --devices}) when first
     * needed, with {@code options} and placeholders off.
     */
    public static Models load(Path runDir, MervInference.Options options, String devices) {
        return new Models(() -> {
            List<MervInference> out = new ArrayList<>();
            try {
                for (Device d : Devices.parse(devices)) {
                    out.add(MervInference.load(runDir, options.withPlaceholder(false).withDevice(d)));
                }
            } catch (RuntimeException e) {
                out.forEach(MervInference::close);
                throw e;
            }
            return out;
        }, true);
    }

    /** The models, loading them on first use; fails when one adds prompt placeholders. */
    public List<MervInference> get() {
        if (models == null) {
            models = List.copyOf(loader.get());
            if (models.isEmpty()) {
                throw new IllegalArgumentException("no model to evaluate with");
            }
            for (MervInference m : models) {
                if (m.options().addPlaceholder()) {
                    throw new IllegalArgumentException("evaluation prompts are the reference's as they are: load the model"
                            + " with MervInference.Options.withPlaceholder(false)");
                }
            }
        }
        return models;
    }

    /** Whether the models were loaded. */
    public boolean loaded() {
        return models != null;
    }

    @Override
    public void close() {
        if (owned && models != null) {
            models.forEach(MervInference::close);
        }
        models = null;
    }
}
