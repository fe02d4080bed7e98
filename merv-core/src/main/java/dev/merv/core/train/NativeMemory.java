package dev.merv.core.train;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Native memory probes for leak tests and benchmarks: glibc {@code mallinfo2} (bytes in use by
 * malloc, mmapped chunks included, which is where libtorch's CPU tensors live) and the process's
 * peak resident set ({@code VmHWM}), which {@link #resetPeak} rewinds through
 * {@code /proc/self/clear_refs}. Linux/glibc only; elsewhere the methods return -1.
 */
public final class NativeMemory {

    private NativeMemory() {}

    /** glibc's struct mallinfo2 (all size_t). */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost"})
    public static class MallInfo2 extends Structure implements Structure.ByValue {
        public long arena;
        public long ordblks;
        public long smblks;
        public long hblks;
        public long hblkhd;
        public long usmblks;
        public long fsmblks;
        public long uordblks;
        public long fordblks;
        public long keepcost;
    }

    private interface LibC extends Library {
        MallInfo2 mallinfo2();
    }

    private static final LibC LIBC = load();

    private static LibC load() {
        try {
            return Native.load("c", LibC.class);
        } catch (Throwable t) {
            return null;
        }
    }

    /** Bytes currently allocated through malloc (arena blocks in use + mmapped blocks), or -1. */
    public static long mallocInUse() {
        if (LIBC == null) {
            return -1;
        }
        try {
            MallInfo2 m = LIBC.mallinfo2();
            return m.uordblks + m.hblkhd;
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Peak resident set size in bytes since start or the last {@link #resetPeak}, or -1. */
    public static long peakRss() {
        return statusField("VmHWM:");
    }

    public static long rss() {
        return statusField("VmRSS:");
    }

    /** Rewinds the peak RSS to the current RSS (Linux >= 4.0); false when not possible. */
    public static boolean resetPeak() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static long statusField(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    String[] p = line.substring(field.length()).trim().split("\\s+");
                    return Long.parseLong(p[0]) * 1024L;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
