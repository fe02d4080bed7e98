package dev.merv.core.text;

/** Token ids and their labels (-100 = not supervised), equal length. */
public record EncodedText(long[] ids, long[] labels) {
    public EncodedText {
        if (ids.length != labels.length) {
            throw new IllegalArgumentException("ids and labels differ in length: " + ids.length + " vs " + labels.length);
        }
    }

    public int length() {
        return ids.length;
    }
}
