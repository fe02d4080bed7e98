package dev.merv.core.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The repository's {@code docs/} for tests that check a doc against the code (catalog tables, memory tables):
 * {@code -Dmerv.docs=DIR} when set (the GPU kit packs the docs beside its classes), else {@code docs/} beside
 * the module Maven runs the test in ({@code basedir}), else {@code ./docs}.
 */
public final class RepoDocs {

    /** System property naming the docs folder. */
    public static final String PROPERTY = "merv.docs";

    private RepoDocs() {}

    /** The doc {@code name} (e.g. {@code weights.md}); not checked for existence, so a missing doc fails where it is read. */
    public static Path file(String name) {
        String dir = System.getProperty(PROPERTY);
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir).resolve(name);
        }
        Path base = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
        Path beside = base.resolveSibling("docs").resolve(name);
        return Files.exists(beside) ? beside : base.resolve("docs").resolve(name);
    }
}
