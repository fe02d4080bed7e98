package dev.merv.core.weights.torch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.weights.TensorInfo;
import dev.merv.core.weights.WeightFormatException;
import dev.merv.core.weights.WeightSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint of the Python reference ({@code latest-checkpoint.pt}, or any {@code step-...pt}), read as data
 * only ({@link TorchCheckpoint}), seen under merv's parameter names: the {@code model} dict's modules
 * {@code projectors}, {@code feature_fusion} and {@code llm_backbone} become {@code projectors.0.projector...},
 * {@code feature_fusion.Q}, {@code llm_backbone.llm.model...}. The reference's loader accepts two older layouts,
 * and so does this view:
 *
 * <ul>
 *   <li>{@code adapter}: the fusion under its former name, used when there is no {@code feature_fusion};
 *   <li>{@code projector}: one encoder's projector without the leading {@code 0.}; it becomes
 *       {@code projectors.0.*} and replaces any {@code projectors} entry, as the reference does.
 * </ul>
 *
 * Other entries of the file ({@code optimizer}, {@code step}, other modules) are not tensors of the model and are
 * listed by {@link #ignored()}.
 */
public final class ReferenceCheckpoint implements WeightSource, AutoCloseable {

    /** The model modules a reference checkpoint can hold, in the reference's order. */
    public static final List<String> MODULES = ReferenceRun.MODULES;

    private final TorchCheckpoint file;
    /** merv name -> name inside the torch.save file. */
    private final Map<String, String> names;
    private final Map<String, TensorInfo> infos;
    private final List<String> ignored;
    private final List<String> remapped;

    private ReferenceCheckpoint(TorchCheckpoint file, Map<String, String> names, List<String> ignored, List<String> remapped) {
        this.file = file;
        this.names = names;
        Map<String, TensorInfo> in = new LinkedHashMap<>();
        names.forEach((merv, stored) -> {
            TensorInfo t = file.info(stored);
            in.put(merv, new TensorInfo(merv, t.dtypeName(), t.dtype(), t.shape(), t.begin(), t.end()));
        });
        this.infos = Collections.unmodifiableMap(in);
        this.ignored = List.copyOf(ignored);
        this.remapped = List.copyOf(remapped);
    }

    /**
     * Opens a reference checkpoint; fails naming the file when it is no torch.save file, holds no {@code model}
     * dict, or the model dict holds none of the reference's modules.
     */
    public static ReferenceCheckpoint open(Path path) {
        TorchCheckpoint ckpt = TorchCheckpoint.open(path);
        try {
            return view(ckpt);
        } catch (RuntimeException e) {
            ckpt.close();
            throw e;
        }
    }

    private static ReferenceCheckpoint view(TorchCheckpoint ckpt) {
        Map<String, List<String>> byModule = new LinkedHashMap<>();
        List<String> ignored = new ArrayList<>();
        for (String n : ckpt.names()) {
            if (!n.startsWith("model.")) {
                ignored.add(n);
                continue;
            }
            String rest = n.substring("model.".length());
            int dot = rest.indexOf('.');
            String module = dot < 0 ? rest : rest.substring(0, dot);
            byModule.computeIfAbsent(module, k -> new ArrayList<>()).add(n);
        }
        if (byModule.isEmpty()) {
            throw new WeightFormatException(ckpt.file(), "model", "no 'model' dict of tensors (a reference checkpoint holds"
                    + " model -> projectors / feature_fusion / llm_backbone); the file holds " + preview(ckpt.names()));
        }
        Map<String, String> names = new LinkedHashMap<>();
        List<String> remapped = new ArrayList<>();
        // the reference's loader: a single 'projector' replaces 'projectors' (keys re-prefixed with '0.')
        String projectorsFrom = byModule.containsKey("projector") ? "projector" : "projectors";
        if (projectorsFrom.equals("projector")) {
            remapped.add("model.projector.* -> projectors.0.* (legacy single-encoder layout)");
            if (byModule.containsKey("projectors")) {
                ignored.addAll(byModule.get("projectors"));
            }
        }
        String fusionFrom = byModule.containsKey("feature_fusion") ? "feature_fusion" : "adapter";
        if (fusionFrom.equals("adapter") && byModule.containsKey("adapter")) {
            remapped.add("model.adapter.* -> feature_fusion.* (legacy name of the fusion)");
        } else if (byModule.containsKey("adapter")) {
            ignored.addAll(byModule.get("adapter"));
        }
        for (Map.Entry<String, List<String>> e : byModule.entrySet()) {
            String module = e.getKey();
            String target;
            String keyPrefix = "";
            if (module.equals(projectorsFrom)) {
                target = "projectors";
                keyPrefix = module.equals("projector") ? "0." : "";
            } else if (module.equals(fusionFrom)) {
                target = "feature_fusion";
            } else if (module.equals("llm_backbone")) {
                target = "llm_backbone";
            } else {
                if (!module.equals("projectors") && !module.equals("adapter")) {
                    ignored.addAll(e.getValue());
                }
                continue;
            }
            String stored = "model." + module + ".";
            for (String n : e.getValue()) {
                names.put(target + "." + keyPrefix + n.substring(stored.length()), n);
            }
        }
        if (names.isEmpty()) {
            throw new WeightFormatException(ckpt.file(), "model", "the model dict holds none of " + MODULES
                    + " (nor the legacy 'adapter' / 'projector'): " + byModule.keySet());
        }
        return new ReferenceCheckpoint(ckpt, names, ignored, remapped);
    }

    private static String preview(Set<String> names) {
        List<String> l = new ArrayList<>(names);
        return l.size() <= 6 ? l.toString() : l.subList(0, 6) + " ... (" + l.size() + " tensors)";
    }

    /** The modules present under merv's names ({@code projectors}, {@code feature_fusion}, {@code llm_backbone}). */
    public Set<String> modules() {
        Set<String> out = new LinkedHashSet<>();
        for (String n : names.keySet()) {
            out.add(n.substring(0, n.indexOf('.')));
        }
        return out;
    }

    /** Names in the file that are no model tensor of this view (optimizer state, other modules, shadowed entries). */
    public List<String> ignored() {
        return ignored;
    }

    /** The legacy layouts that were renamed, one line each (empty for a current checkpoint). */
    public List<String> remapped() {
        return remapped;
    }

    /** The file's own name of a merv-named tensor. */
    public String storedName(String name) {
        String s = names.get(name);
        if (s == null) {
            throw new WeightFormatException(file.file(), name, "no such tensor in the reference checkpoint's model dict");
        }
        return s;
    }

    public Path file() {
        return file.file();
    }

    @Override
    public Set<String> names() {
        return infos.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = infos.get(name);
        if (t == null) {
            throw new WeightFormatException(file.file(), name, "no such tensor in the reference checkpoint's model dict");
        }
        return t;
    }

    @Override
    public NDArray load(String name, NDManager manager, ScalarType as) {
        return file.load(storedName(name), manager, as);
    }

    @Override
    public String describe() {
        return file.describe() + " (reference checkpoint, model dict)";
    }

    @Override
    public void close() {
        file.close();
    }
}
