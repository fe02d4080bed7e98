package dev.merv.data.videollava;

import dev.merv.core.text.Turn;
import java.util.List;

/**
 * One parsed Video-LLaVA row (docs/reference.md §5.2).
 *
 * @param index position in the JSON array
 * @param turns the conversation, alternating human/gpt, starting with human
 * @param mediaPath the relative media path as written ({@code video} when present, else
 *     {@code image}); null for text-only rows
 * @param kind what the media is decoded as
 * @param isImage the reference's {@code is_image}: true when the row has an {@code image} key, even
 *     when a {@code video} key overrides it
 */
public record Entry(int index, List<Turn> turns, String mediaPath, Kind kind, boolean isImage) {

    /** How a row's media is decoded. */
    public enum Kind { VIDEO, IMAGE, TEXT }

    public boolean hasMedia() {
        return kind != Kind.TEXT;
    }
}
