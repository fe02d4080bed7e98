package dev.merv.core.torch;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * {@code operator new} from the libstdc++ that libtorch links. A present optional argument is a
 * pointer to a heap StableIValue that libtorch frees with C++ {@code delete}; it must therefore come
 * from the matching allocator, not from JNA's malloc.
 */
final class CxxHeap {

    static {
        Native.register(CxxHeap.class, NativeLibrary.getInstance("libstdc++.so.6"));
    }

    private CxxHeap() {}

    /** void* operator new(std::size_t). */
    static native long _Znwm(long size);

    /** void operator delete(void*, std::size_t). */
    static native void _ZdlPvm(long ptr, long size);
}
