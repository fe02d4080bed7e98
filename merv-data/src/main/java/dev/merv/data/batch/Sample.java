package dev.merv.data.batch;

import dev.merv.core.text.EncodedText;

/**
 * One processed row, ready to collate.
 *
 * @param index dataset row
 * @param text token ids and labels
 * @param pixels per encoder the transformed clip, or null for a text-only row
 * @param isImage the row's media is a still image (the reference's {@code is_image})
 */
public record Sample(int index, EncodedText text, float[][] pixels, boolean isImage) {

    public boolean hasMedia() {
        return pixels != null;
    }
}
