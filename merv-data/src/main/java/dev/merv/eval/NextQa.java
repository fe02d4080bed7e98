package dev.merv.eval;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * NExT-QA's accuracy per question type, as the reference's MCQ script reports it: the type is the
 * {@code question_id}'s prefix before the first {@code _} (CW, CH causal; TN, TC temporal, with TP counted as TN;
 * DC, DL, DO descriptive), then the three families C, T, D, and the total. A type with no question has accuracy 0.
 */
public final class NextQa {

    /** The types in the reference's order. */
    public static final List<String> TYPES = List.of("CW", "CH", "TN", "TC", "DC", "DL", "DO");

    /**
     * @param groups accuracy per type, then per family (C, T, D)
     * @param counts questions per type, then per family
     * @param unknown question ids whose prefix is no NExT-QA type (the reference fails on them; here they count only in
     *     the total)
     */
    public record Breakdown(double total, Map<String, Double> groups, Map<String, Integer> counts, List<String> unknown) {}

    private NextQa() {}

    /** The breakdown of {@code correct} (question id to whether it was answered right). */
    public static Breakdown of(Map<String, Boolean> correct) {
        Map<String, int[]> by = new LinkedHashMap<>();
        for (String t : TYPES) {
            by.put(t, new int[2]);
        }
        for (String f : List.of("C", "T", "D")) {
            by.put(f, new int[2]);
        }
        List<String> unknown = new java.util.ArrayList<>();
        int all = 0;
        int right = 0;
        for (Map.Entry<String, Boolean> e : correct.entrySet()) {
            String type = e.getKey().split("_", -1)[0];
            if (type.equals("TP")) {
                type = "TN";
            }
            all++;
            right += e.getValue() ? 1 : 0;
            if (!TYPES.contains(type)) {
                unknown.add(e.getKey());
                continue;
            }
            for (String key : List.of(type, type.substring(0, 1))) {
                int[] c = by.get(key);
                c[0]++;
                c[1] += e.getValue() ? 1 : 0;
            }
        }
        Map<String, Double> acc = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        by.forEach((k, c) -> {
            acc.put(k, c[0] == 0 ? 0.0 : c[1] / (double) c[0]);
            counts.put(k, c[0]);
        });
        return new Breakdown(all == 0 ? 0 : right / (double) all, acc, counts, List.copyOf(unknown));
    }
}
