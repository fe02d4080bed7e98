package dev.merv.core.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes a use-after-free of DJL's Java-backed tensors deterministic in tests. On CPU,
 * {@code NDManager.create(...)} wraps a direct {@link ByteBuffer} ({@code from_blob}) that only the
 * Java {@code PtNDArray} keeps alive; once that array is closed, a garbage collection lets the JDK's
 * cleaner free the memory even if libtorch still holds the storage (a view, or a tensor autograd saved
 * for backward). {@link #reclaimAndPoison()} forces that collection and then refills freshly freed small
 * chunks with a poison value, so any later read of such memory sees garbage instead of the stale bytes.
 */
public final class DirectMemory {

    /** The value written into recycled small allocations. */
    public static final float POISON = 1.0e30f;

    private DirectMemory() {}

    /**
     * Runs the collector until unreachable direct buffers have been freed, then allocates many small
     * direct buffers filled with {@link #POISON}. Keep the returned list reachable while the code under
     * test reads native memory (its buffers occupy the recycled chunks).
     */
    public static List<ByteBuffer> reclaimAndPoison() {
        for (int i = 0; i < 6; i++) {
            System.gc();
            try {
                Thread.sleep(40);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        List<ByteBuffer> junk = new ArrayList<>();
        for (int size : new int[] {4, 8, 16, 32}) {
            for (int i = 0; i < 4000; i++) {
                ByteBuffer b = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
                for (int o = 0; o + 4 <= size; o += 4) {
                    b.putFloat(o, POISON);
                }
                junk.add(b);
            }
        }
        return junk;
    }
}
