package dev.merv.core.weights;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where each backbone's weights are: an explicit directory per id ({@code --weights.<id> DIR}), else
 * {@code <weights_root>/<id>}, else {@code <weights_root>/<org>--<name>} of its hub checkpoint, else the
 * HF cache ({@code $HF_HOME/hub/models--org--name/snapshots/<rev>}). The error lists every place looked.
 */
public record BackboneWeights(Path root, Map<String, Path> explicit) {

    public BackboneWeights {
        explicit = Map.copyOf(explicit);
    }

    /** Only the HF cache. */
    public static BackboneWeights hfCache() {
        return new BackboneWeights(null, Map.of());
    }

    /** {@code <root>/<id>} (or {@code <root>/<org>--<name>}), then the HF cache. */
    public static BackboneWeights root(Path root) {
        return new BackboneWeights(root, Map.of());
    }

    /** A copy where backbone {@code id} is read from {@code dir}. */
    public BackboneWeights with(String id, Path dir) {
        Map<String, Path> m = new java.util.LinkedHashMap<>(explicit);
        m.put(id, dir);
        return new BackboneWeights(root, m);
    }

    public Path resolve(String id, String hubRepo) {
        List<Path> tried = new ArrayList<>();
        Path p = explicit.get(id);
        if (p != null) {
            if (Files.isDirectory(p)) {
                return p;
            }
            throw new IllegalArgumentException("--weights." + id + "=" + p + " is not a directory");
        }
        if (root != null) {
            Path byId = root.resolve(id);
            tried.add(byId);
            if (Files.isDirectory(byId)) {
                return byId;
            }
            if (hubRepo != null && hubRepo.contains("/")) {
                Path byRepo = root.resolve(hubRepo.replace("/", "--"));
                tried.add(byRepo);
                if (Files.isDirectory(byRepo)) {
                    return byRepo;
                }
            }
        }
        if (hubRepo != null && hubRepo.contains("/") && !hubRepo.contains(" ")) {
            Path hub = ModelDirectory.hfCacheHub();
            tried.add(hub.resolve("models--" + hubRepo.replace("/", "--")));
            Optional<Path> cached = ModelDirectory.findInCache(hub, hubRepo, null);
            if (cached.isPresent()) {
                return cached.get();
            }
        }
        throw new IllegalArgumentException("weights for backbone '" + id + "'" + (hubRepo == null ? "" : " (" + hubRepo + ")")
                + " not found; looked in " + tried + ". Pass --weights." + id + " DIR or --weights_root DIR"
                + " (see docs/weights.md)");
    }
}
