package dev.merv.core.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line with the reference's flag names (draccus style, docs/reference.md §1.1-1.2):
 * {@code --model.type merv-base --model.num_frames [16,16,32,16] --stage finetune ...}.
 *
 * <ul>
 *   <li>Forms: {@code --a.b value} and {@code --a.b=value}; dashes in names are read as underscores.
 *   <li>Lists in brackets: {@code [a,b]}, {@code ['a','b']}, {@code ["a", "b"]} (a list split by the shell
 *       at its spaces is joined back up to the closing bracket). A single number for
 *       {@code --model.num_frames} is broadcast to every encoder.
 *   <li>{@code --model.type} / {@code --dataset.type} pick the registered config first, wherever they
 *       appear; every other flag then overrides one field, in order.
 *   <li>A boolean flag with no value ({@code --resume}) means true. {@code None}/{@code null} clears an
 *       optional number or path.
 *   <li>{@code --config run/config.json} starts from a dumped config instead of the registry.
 * </ul>
 *
 * The result is validated ({@link ConfigValidator}) before it is returned.
 */
public final class ConfigCli {

    private ConfigCli() {}

    /** Parses and validates. */
    public static PretrainConfig parse(String... args) {
        PretrainConfig c = parseUnvalidated(args);
        ConfigValidator.validate(c);
        return c;
    }

    /** Parses without validating (for tools that want to report problems themselves). */
    public static PretrainConfig parseUnvalidated(String... args) {
        List<Flags.Flag> flags = Flags.split(args);
        String modelType = null;
        String datasetType = null;
        Path configFile = null;
        for (Flags.Flag f : flags) {
            switch (f.name()) {
                case "model.type" -> modelType = RecordFields.unquote(f.value().trim());
                case "dataset.type" -> datasetType = RecordFields.unquote(f.value().trim());
                case "config" -> configFile = Path.of(RecordFields.unquote(f.value().trim()));
                default -> { }
            }
        }
        PretrainConfig c;
        if (configFile != null) {
            c = ConfigJson.read(configFile);
            if (modelType != null) {
                c = c.withModel(ModelRegistry.get(modelType));
            }
            if (datasetType != null) {
                c = c.withDataset(DatasetConfig.registered(datasetType));
            }
        } else {
            c = PretrainConfig.defaults(ModelRegistry.get(modelType == null ? ModelRegistry.MERV_BASE : modelType),
                    DatasetConfig.registered(datasetType == null ? "videollava" : datasetType));
        }
        boolean broadcastFrames = false;
        for (Flags.Flag f : flags) {
            String n = f.name();
            if (n.equals("model.type") || n.equals("dataset.type") || n.equals("config")) {
                continue;
            }
            if (n.startsWith("model.")) {
                String field = n.substring("model.".length());
                c = c.withModel(c.model().with(field, f.value()));
                if (field.equals("num_frames")) {
                    broadcastFrames = !RecordFields.unquote(f.value().trim()).startsWith("[");
                }
            } else if (n.startsWith("dataset.")) {
                c = c.withDataset(c.dataset().with(n.substring("dataset.".length()), f.value()));
            } else {
                c = c.with(n, f.value());
            }
        }
        ModelConfig m = c.model();
        if (broadcastFrames && m.numFrames().size() == 1 && m.numEncoders() > 1) {
            List<Integer> frames = new ArrayList<>();
            for (int i = 0; i < m.numEncoders(); i++) {
                frames.add(m.numFrames().get(0));
            }
            c = c.withModel(m.with("num_frames", frames.toString()));
        }
        return c;
    }

    /** Every flag with its {@code merv-base} / default value, one per line (for {@code --help}). */
    public static String usage() {
        StringBuilder b = new StringBuilder("flags (--name value or --name=value; lists as [a,b]):\n");
        PretrainConfig d = PretrainConfig.defaults();
        b.append("  --model.type ").append(ModelRegistry.ids()).append(" (default merv-base)\n");
        b.append("  --dataset.type ").append(DatasetConfig.registeredIds()).append("\n");
        b.append("  --config <run dir>/config.json (start from a dumped config)\n");
        RecordFields.values(d).forEach((k, v) -> {
            if (v instanceof ModelConfig mc) {
                RecordFields.values(mc).forEach((mk, mv) -> {
                    if (!mk.equals("type")) {
                        b.append("  --model.").append(mk).append(' ').append(mv).append('\n');
                    }
                });
            } else if (v instanceof DatasetConfig dc) {
                RecordFields.values(dc).forEach((dk, dv) -> {
                    if (!dk.equals("type")) {
                        b.append("  --dataset.").append(dk).append(' ').append(dv).append('\n');
                    }
                });
            } else {
                b.append("  --").append(k).append(' ').append(v).append('\n');
            }
        });
        return b.toString();
    }

}
