package dev.merv.data.check;

/**
 * Why a dataset entry was skipped. The lower-case {@link #code()} is what reports and the
 * {@code check} command write.
 */
public enum SkipReason {
    /** The media file named by the entry does not exist. */
    MISSING("missing"),
    /** The container or stream cannot be opened or decoded, or ends before the frames its index declares. */
    CORRUPT("corrupt"),
    /** The file opens as a container but holds no video frames (no video track, or an empty one). */
    EMPTY("empty"),
    /** The image file exists but no decoder can read it. */
    UNREADABLE_IMAGE("unreadable-image"),
    /** The JSON entry is not a usable Video-LLaVA row (syntax, types, turn structure). */
    MALFORMED_ENTRY("malformed-entry"),
    /** The media path resolves outside the data root (absolute, {@code ..}, or a link leading out). */
    OUTSIDE_ROOT("outside-root"),
    /** Decoding exceeded the per-sample time budget. */
    TIMEOUT("timeout");

    private final String code;

    SkipReason(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }

    public static SkipReason fromCode(String code) {
        for (SkipReason r : values()) {
            if (r.code.equals(code)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown skip reason '" + code + "'");
    }
}
