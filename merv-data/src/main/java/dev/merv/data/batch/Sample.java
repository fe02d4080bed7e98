package dev.merv.data.batch;

import dev.merv.core.text.EncodedText;
import dev.merv.data.cache.RowFeatures;

/**
 * One processed row, ready to collate.
 *
 * @param index dataset row
 * @param text token ids and labels
 * @param pixels per encoder the transformed clip (null for an encoder whose features the cache holds), or
 *     null for a text-only row
 * @param isImage the row's media is a still image (the reference's {@code is_image})
 * @param cache what the frozen-feature cache holds for the clip; null without a cache
 */
public record Sample(int index, EncodedText text, float[][] pixels, boolean isImage, RowFeatures cache) {

    public Sample(int index, EncodedText text, float[][] pixels, boolean isImage) {
        this(index, text, pixels, isImage, null);
    }

    public boolean hasMedia() {
        return pixels != null;
    }
}
