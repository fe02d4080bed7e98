package dev.merv.core.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Loads checkpoint tensors into parameters through one explicit table (checkpoint name to
 * {@link Param}), checking every shape before anything is loaded, and reports what was missing,
 * unexpected or mismatched. Strict by default: any missing or mismatched name fails, naming them all.
 */
public final class WeightLoader {

    /** What a load found. */
    public record Report(List<String> loaded, List<String> missing, List<String> unexpected, List<String> mismatched) {
        public boolean clean() {
            return missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty();
        }

        @Override
        public String toString() {
            return "loaded " + loaded.size() + ", missing " + missing + ", unexpected " + unexpected
                    + ", shape mismatches " + mismatched;
        }
    }

    private WeightLoader() {}

    /**
     * Loads {@code table} from {@code source} into {@code manager}, converting floating tensors to
     * {@code dtype} (null keeps the stored dtype). Names in {@code source} that the table lacks are
     * unexpected unless {@code ignoreUnexpected} accepts them.
     */
    public static Report load(WeightSource source, Map<String, Param> table, NDManager manager, ScalarType dtype,
            boolean strict, Predicate<String> ignoreUnexpected) {
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        Set<String> mismatchedNames = new HashSet<>();
        List<String> loaded = new ArrayList<>();
        for (Map.Entry<String, Param> e : table.entrySet()) {
            if (!source.names().contains(e.getKey())) {
                missing.add(e.getKey());
                continue;
            }
            long[] have = source.info(e.getKey()).shape();
            long[] want = e.getValue().shape().getShape();
            if (!Arrays.equals(have, want)) {
                mismatched.add(e.getKey() + " " + Arrays.toString(have) + " vs expected " + Arrays.toString(want));
                mismatchedNames.add(e.getKey());
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String n : new TreeSet<>(source.names())) {
            if (!table.containsKey(n) && (ignoreUnexpected == null || !ignoreUnexpected.test(n))) {
                unexpected.add(n);
            }
        }
        if (strict && (!missing.isEmpty() || !mismatched.isEmpty() || !unexpected.isEmpty())) {
            throw new IllegalArgumentException("weights in " + source.describe() + " do not fit the model: missing "
                    + missing + ", unexpected " + unexpected + ", shape mismatches " + mismatched);
        }
        Map<String, Param> todo = new LinkedHashMap<>(table);
        missing.forEach(todo::remove);
        mismatchedNames.forEach(todo::remove);
        for (Map.Entry<String, Param> e : todo.entrySet()) {
            ScalarType stored = source.info(e.getKey()).dtype();
            ScalarType as = dtype != null && stored.isFloating() ? dtype : null;
            NDArray a = source.load(e.getKey(), manager, as);
            e.getValue().set(a);
            loaded.add(e.getKey());
        }
        return new Report(loaded, missing, unexpected, mismatched);
    }

    /** Strict load with no ignored names. */
    public static Report load(WeightSource source, Map<String, Param> table, NDManager manager, ScalarType dtype) {
        return load(source, table, manager, dtype, true, null);
    }

    /** The identity table: checkpoint names equal module paths (prefixed). */
    public static Map<String, Param> identity(String prefix, Map<String, Param> namedParameters) {
        Map<String, Param> t = new LinkedHashMap<>();
        namedParameters.forEach((n, p) -> t.put(prefix + n, p));
        return t;
    }
}
