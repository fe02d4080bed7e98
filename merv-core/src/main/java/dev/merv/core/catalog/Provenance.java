package dev.merv.core.catalog;

/** Where a backbone id comes from. */
public enum Provenance {
    /** Registered by the reference implementation (the ids its configs and checkpoints use). */
    REFERENCE,
    /** merv's own addition: a released checkpoint the reference has no id for. */
    MERV_EXTRA,
    /** merv's tiny random backbones of {@code merv-tiny} (tests and the demo), written locally by {@code ./merv tiny-weights}. */
    MERV_TINY,
    /** The name of a golden test fixture's model; its architecture is only ever the fixture's {@code config.json}. */
    TEST_FIXTURE
}
