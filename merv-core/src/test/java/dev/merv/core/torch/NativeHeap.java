package dev.merv.core.torch;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

/** Bytes in use on glibc's malloc heap (all arenas plus mmapped chunks), through {@code mallinfo2}. */
final class NativeHeap {

    /** {@code struct mallinfo2}: ten {@code size_t} fields. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost"})
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

    interface C extends Library {
        MallInfo2 mallinfo2();
    }

    private static final C LIBC = Native.load("c", C.class);

    private NativeHeap() {}

    static long inUse() {
        MallInfo2 mi = LIBC.mallinfo2();
        return mi.uordblks + mi.hblkhd;
    }
}
