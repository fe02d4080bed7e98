package dev.merv.core.catalog;

import java.util.Objects;

/**
 * A Hugging Face hub repository at a revision.
 *
 * @param repo {@code org/name}
 * @param revision a branch, tag, {@code refs/pr/N} or commit; null means {@code main}
 */
public record HubRef(String repo, String revision) {

    public HubRef {
        Objects.requireNonNull(repo, "repo");
        if (!repo.contains("/") || repo.contains(" ")) {
            throw new IllegalArgumentException("hub repo '" + repo + "' is not of the form org/name");
        }
    }

    /** {@code repo} at {@code main}. */
    public static HubRef of(String repo) {
        return new HubRef(repo, null);
    }

    /** The revision, {@code main} when none is pinned. */
    public String revisionOrMain() {
        return revision == null ? "main" : revision;
    }

    /** {@code org/name} or {@code org/name@revision}. */
    @Override
    public String toString() {
        return revision == null ? repo : repo + "@" + revision;
    }
}
