package dev.merv.encoders.transform;

import dev.merv.core.model.Frame;
import java.lang.ref.WeakReference;

/**
 * PIL resizes of decoded frames, remembered per loader thread for the last few frames: encoders that take
 * the same frames of a clip to the same size with the same filter (DINOv2 and SigLIP: bicubic to 224 px)
 * share one resize. A frame is recognised by identity (decoded frames are never modified), so nothing is
 * compared byte by byte and a frame no longer referenced elsewhere is forgotten.
 */
final class ResizedFrames {

    /** Frames remembered per thread: more than one clip's worth of any encoder's frames (at most 32). */
    private static final int CAPACITY = 64;

    private static final ThreadLocal<ResizedFrames> MINE = ThreadLocal.withInitial(ResizedFrames::new);

    private final Object[][] entries = new Object[CAPACITY][];
    private int next;

    private ResizedFrames() {}

    /**
     * {@code frame} resized to {@code width x height} with {@code filter} (PIL's 8-bit resize); do not modify the
     * result.
     */
    static byte[] resize(Frame frame, int width, int height, Filter filter) {
        return MINE.get().get(frame, width, height, filter);
    }

    private byte[] get(Frame frame, int width, int height, Filter filter) {
        for (Object[] e : entries) {
            if (e != null && ((WeakReference<?>) e[0]).get() == frame && (Integer) e[1] == width && (Integer) e[2] == height
                    && e[3] == filter) {
                return (byte[]) e[4];
            }
        }
        byte[] px = Resample.resizeUint8(frame.rgb(), frame.width(), frame.height(), 3, width, height, filter);
        entries[next] = new Object[] {new WeakReference<>(frame), width, height, filter, px};
        next = (next + 1) % CAPACITY;
        return px;
    }
}
