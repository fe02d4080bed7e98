package dev.merv.core.config;

import java.util.List;

/**
 * A configuration that cannot work, reported before any weights load. The message names every
 * offending field (in the reference's dotted flag spelling, e.g. {@code model.num_frames}) and how to
 * fix it; {@link #problems()} lists them one by one.
 */
public final class ConfigException extends IllegalArgumentException {

    private final List<String> problems;

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    public ConfigException(List<String> problems) {
        super(problems.size() == 1 ? problems.get(0)
                : "invalid configuration (" + problems.size() + " problems):\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
