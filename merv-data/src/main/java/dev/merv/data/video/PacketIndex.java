package dev.merv.data.video;

import java.util.Arrays;

/**
 * The packets of one video stream in decode (file) order, read by one demuxing pass before anything is
 * decoded: presentation timestamp, decode timestamp, key-frame flag, and whether the decoder may drop the
 * packet's picture without changing any other picture ({@link NonReferenceRule}). A frame's index is
 * the rank of its presentation timestamp among all packets: the presentation-order index a sequential
 * decode counts, and the one the reference's decoder uses.
 *
 * <p>Built only from streams whose every packet carries a distinct presentation timestamp;
 * {@link Builder#build()} returns null otherwise (the caller then decodes sequentially).
 */
final class PacketIndex {

    private final long[] pts;
    private final long[] dts;
    private final boolean[] key;
    private final boolean[] droppable;
    /** Display index of each packet. */
    private final int[] display;
    /** Presentation timestamps in display order. */
    private final long[] sortedPts;
    /** Decode position of each display index. */
    private final int[] position;

    private PacketIndex(long[] pts, long[] dts, boolean[] key, boolean[] droppable, int[] display, long[] sortedPts,
            int[] position) {
        this.pts = pts;
        this.dts = dts;
        this.key = key;
        this.droppable = droppable;
        this.display = display;
        this.sortedPts = sortedPts;
        this.position = position;
    }

    /** Number of packets (= frames). */
    int size() {
        return pts.length;
    }

    long pts(int pos) {
        return pts[pos];
    }

    long dts(int pos) {
        return dts[pos];
    }

    boolean key(int pos) {
        return key[pos];
    }

    /**
     * Whether the decoder may be told to drop packet {@code pos} if it holds a non-reference picture (it
     * then drops exactly the pictures no other picture references).
     */
    boolean droppable(int pos) {
        return droppable[pos];
    }

    /** Display index of the packet at decode position {@code pos}. */
    int display(int pos) {
        return display[pos];
    }

    /** Decode position of the packet shown at display index {@code d}. */
    int position(int d) {
        return position[d];
    }

    /** Display index of presentation timestamp {@code ts}, or -1 when no packet has it. */
    int displayOf(long ts) {
        int d = Arrays.binarySearch(sortedPts, ts);
        return d < 0 ? -1 : d;
    }

    /** The timestamp to seek to so the demuxer lands on key packet {@code pos} (or a packet before it). */
    long seekTimestamp(int pos) {
        return dts[pos] != Long.MIN_VALUE ? Math.min(dts[pos], pts[pos]) : pts[pos];
    }

    /** Collects packets during the demuxing pass. */
    static final class Builder {
        private long[] pts = new long[256];
        private long[] dts = new long[256];
        private boolean[] key = new boolean[256];
        private boolean[] droppable = new boolean[256];
        private int[] layer = new int[256];
        private int maxLayer = Integer.MIN_VALUE;
        private int n;
        private boolean missingPts;

        /**
         * Adds the next packet in decode order.
         *
         * @param pts presentation timestamp, {@code Long.MIN_VALUE} when the packet has none
         * @param dts decode timestamp, {@code Long.MIN_VALUE} when the packet has none
         * @param droppable whether the codec's rule lets the decoder drop the packet's picture
         * @param layer temporal sub-layer of the picture (0 where the codec has none); only packets of the
         *     highest layer present in the stream stay droppable
         */
        void add(long pts, long dts, boolean key, boolean droppable, int layer) {
            if (pts == Long.MIN_VALUE) {
                missingPts = true;
            }
            if (n == this.pts.length) {
                int cap = n * 2;
                this.pts = Arrays.copyOf(this.pts, cap);
                this.dts = Arrays.copyOf(this.dts, cap);
                this.key = Arrays.copyOf(this.key, cap);
                this.droppable = Arrays.copyOf(this.droppable, cap);
                this.layer = Arrays.copyOf(this.layer, cap);
            }
            this.pts[n] = pts;
            this.dts[n] = dts;
            this.key[n] = key;
            this.droppable[n] = droppable;
            this.layer[n] = layer;
            maxLayer = Math.max(maxLayer, layer);
            n++;
        }

        /** Packets added so far. */
        int size() {
            return n;
        }

        /**
         * The index, or null when a packet had no presentation timestamp, two packets share one, or the
         * stream has no packets: frame identity by timestamp is then impossible.
         */
        PacketIndex build() {
            if (n == 0 || missingPts) {
                return null;
            }
            long[] p = Arrays.copyOf(pts, n);
            long[] sorted = p.clone();
            Arrays.sort(sorted);
            for (int i = 1; i < n; i++) {
                if (sorted[i] == sorted[i - 1]) {
                    return null;
                }
            }
            int[] display = new int[n];
            int[] position = new int[n];
            for (int i = 0; i < n; i++) {
                display[i] = Arrays.binarySearch(sorted, p[i]);
                position[display[i]] = i;
            }
            boolean[] drop = new boolean[n];
            for (int i = 0; i < n; i++) {
                drop[i] = droppable[i] && layer[i] == maxLayer;
            }
            return new PacketIndex(p, Arrays.copyOf(dts, n), Arrays.copyOf(key, n), drop, display, sorted, position);
        }
    }
}
