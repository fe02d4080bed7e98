package dev.merv.data.video;

/**
 * What to decode for a set of sampled frames, decided from the {@link PacketIndex} before any decoding:
 * where to jump forward to a key frame, and which packets the decoder may drop.
 *
 * <p>Decoding always moves forward through the file, so no packet is ever sent to the decoder twice.
 * Before decoding toward the next sampled frame {@code w} (display index), the decoder jumps to the
 * latest key packet {@code K} such that {@code K} is shown no later than {@code w} and every packet
 * before {@code K} in decode order is shown before {@code w}; the jump is taken only when {@code K}
 * lies ahead of the next unread packet, i.e. it skips packets no sampled frame needs. Frames shown
 * after a key frame do not reference packets before it (what makes it a key frame); leading pictures
 * of an open GOP (decoded after {@code K}, shown before it) may, which is why {@code K} must not be
 * shown after {@code w}.
 *
 * <p>A packet is dropped (the decoder's {@code skip_frame = AVDISCARD_NONREF}) when its picture is
 * not sampled and no other picture references it ({@link PacketIndex#droppable}).
 */
final class DecodePlan {

    private final PacketIndex index;
    private final boolean[] sampled;
    private final boolean seek;
    private final boolean drop;
    /** Decode positions of the key packets, ascending. */
    private final int[] keyPos;
    /** For each key packet: the largest display index of any packet before it in decode order (-1: none). */
    private final int[] shownBefore;

    /**
     * @param sampledDisplay display indices of the sampled frames (any order, repeats allowed)
     * @param seek whether to jump over packets no sampled frame needs
     * @param drop whether to drop unsampled non-reference pictures
     */
    DecodePlan(PacketIndex index, int[] sampledDisplay, boolean seek, boolean drop) {
        this.index = index;
        this.seek = seek;
        this.drop = drop;
        int n = index.size();
        this.sampled = new boolean[n];
        for (int d : sampledDisplay) {
            if (d < 0 || d >= n) {
                throw new IllegalArgumentException("sampled frame " + d + " outside 0.." + (n - 1));
            }
            sampled[d] = true;
        }
        int keys = 0;
        for (int i = 0; i < n; i++) {
            if (index.key(i)) {
                keys++;
            }
        }
        keyPos = new int[keys];
        shownBefore = new int[keys];
        int k = 0;
        int maxShown = -1;
        for (int i = 0; i < n; i++) {
            if (index.key(i)) {
                keyPos[k] = i;
                shownBefore[k++] = maxShown;
            }
            maxShown = Math.max(maxShown, index.display(i));
        }
    }

    /**
     * The key packet to jump to before decoding toward sampled frame {@code w} when the next packet to read
     * is {@code next}, or -1 to keep reading forward.
     */
    int seekTarget(int w, int next) {
        if (!seek) {
            return -1;
        }
        int best = -1;
        for (int k = 0; k < keyPos.length && shownBefore[k] < w; k++) {
            if (index.display(keyPos[k]) <= w) {
                best = keyPos[k];
            }
        }
        return best > next ? best : -1;
    }

    /** Whether the decoder may drop packet {@code pos} (not sampled, referenced by nothing). */
    boolean drop(int pos) {
        int d = index.display(pos);
        return drop && index.droppable(pos) && (d < 0 || !sampled[d]);
    }
}
