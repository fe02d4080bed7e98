package dev.merv.data.video;

import java.util.Arrays;

/**
 * The packets of one video stream in decode (file) order, read by one demuxing pass before anything is
 * decoded: presentation timestamp, decode timestamp, key-frame flag, whether the decoder may be asked to
 * drop the packet's picture if it is a non-reference picture ({@link NonReferenceRule}), and whether the
 * picture is shown at all. A frame's index is the rank of its presentation timestamp among the shown
 * packets: the presentation-order index a sequential decode counts.
 *
 * <p>Packets the container marks to be decoded but not shown (the lead-in from the key frame before the
 * start of an edit list, as left by cutting a video without re-encoding) are kept in decode order, since
 * later pictures reference them, but are no frames: the decoder drops their pictures, so a sequential
 * decode never counts them.
 *
 * <p>Built only from streams whose every packet carries a distinct presentation timestamp;
 * {@link Builder#build()} returns null otherwise (the caller then decodes sequentially).
 */
final class PacketIndex {

    private final long[] pts;
    private final long[] dts;
    private final boolean[] key;
    private final boolean[] droppable;
    /** Display index of each packet, -1 for a packet that is not shown. */
    private final int[] display;
    /** Decode position of each display index. */
    private final int[] position;
    /** Presentation timestamps of all packets, ascending, and the decode position of each. */
    private final long[] sortedPts;
    private final int[] sortedPosition;
    private final int shown;

    private PacketIndex(long[] pts, long[] dts, boolean[] key, boolean[] droppable, int[] display, int[] position,
            long[] sortedPts, int[] sortedPosition, int shown) {
        this.pts = pts;
        this.dts = dts;
        this.key = key;
        this.droppable = droppable;
        this.display = display;
        this.position = position;
        this.sortedPts = sortedPts;
        this.sortedPosition = sortedPosition;
        this.shown = shown;
    }

    /** Number of frames (shown packets). */
    int size() {
        return shown;
    }

    /** Number of packets, hidden ones included. */
    int packets() {
        return pts.length;
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

    /** Display index of the packet at decode position {@code pos}; -1 when it is not shown. */
    int display(int pos) {
        return display[pos];
    }

    /** Decode position of the packet shown at display index {@code d}. */
    int position(int d) {
        return position[d];
    }

    /** Decode position of the packet with presentation timestamp {@code ts}, or -1 when no packet has it. */
    int positionOf(long ts) {
        int i = Arrays.binarySearch(sortedPts, ts);
        return i < 0 ? -1 : sortedPosition[i];
    }

    /** Display index of presentation timestamp {@code ts}, or -1 when no shown packet has it. */
    int displayOf(long ts) {
        int p = positionOf(ts);
        return p < 0 ? -1 : display[p];
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
        private boolean[] shown = new boolean[256];
        private int[] layer = new int[256];
        private int maxLayer = Integer.MIN_VALUE;
        private int n;
        private int hidden;
        private boolean missingPts;

        /**
         * Adds the next packet in decode order.
         *
         * @param pts presentation timestamp, {@code Long.MIN_VALUE} when the packet has none
         * @param dts decode timestamp, {@code Long.MIN_VALUE} when the packet has none
         * @param droppable whether the codec's rule lets the decoder drop the packet's picture
         * @param layer temporal sub-layer of the picture (0 where the codec has none); only packets of the
         *     highest layer present in the stream stay droppable
         * @param shown false for a packet the container marks as decoded but not shown
         */
        void add(long pts, long dts, boolean key, boolean droppable, int layer, boolean shown) {
            if (pts == Long.MIN_VALUE) {
                missingPts = true;
            }
            if (n == this.pts.length) {
                int cap = n * 2;
                this.pts = Arrays.copyOf(this.pts, cap);
                this.dts = Arrays.copyOf(this.dts, cap);
                this.key = Arrays.copyOf(this.key, cap);
                this.droppable = Arrays.copyOf(this.droppable, cap);
                this.shown = Arrays.copyOf(this.shown, cap);
                this.layer = Arrays.copyOf(this.layer, cap);
            }
            this.pts[n] = pts;
            this.dts[n] = dts;
            this.key[n] = key;
            this.droppable[n] = droppable;
            this.shown[n] = shown;
            this.layer[n] = layer;
            maxLayer = Math.max(maxLayer, layer);
            hidden += shown ? 0 : 1;
            n++;
        }

        /** Packets added so far, hidden ones included. */
        int packets() {
            return n;
        }

        /** Packets added so far that are shown. */
        int shown() {
            return n - hidden;
        }

        /**
         * The index, or null when a packet had no presentation timestamp, two packets share one, or no
         * packet is shown: frame identity by timestamp is then impossible.
         */
        PacketIndex build() {
            if (n == hidden || missingPts) {
                return null;
            }
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Long.compare(pts[a], pts[b]));
            long[] sortedPts = new long[n];
            int[] sortedPosition = new int[n];
            int[] display = new int[n];
            int[] position = new int[n - hidden];
            int d = 0;
            for (int i = 0; i < n; i++) {
                int p = order[i];
                sortedPts[i] = pts[p];
                sortedPosition[i] = p;
                if (i > 0 && sortedPts[i] == sortedPts[i - 1]) {
                    return null;
                }
                if (shown[p]) {
                    position[d] = p;
                    display[p] = d++;
                } else {
                    display[p] = -1;
                }
            }
            boolean[] drop = new boolean[n];
            for (int i = 0; i < n; i++) {
                drop[i] = droppable[i] && layer[i] == maxLayer;
            }
            return new PacketIndex(Arrays.copyOf(pts, n), Arrays.copyOf(dts, n), Arrays.copyOf(key, n), drop, display,
                    position, sortedPts, sortedPosition, n - hidden);
        }
    }
}
