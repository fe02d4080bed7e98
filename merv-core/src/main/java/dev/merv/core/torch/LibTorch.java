package dev.merv.core.torch;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * JNA direct-mapped bindings to the AOTInductor C shim exported by the {@code libtorch_cpu.so}
 * that DJL loaded.
 *
 * <p>Direct mapping ({@link Native#register}) is the cheapest JNA call path. The library is opened
 * by full path because DJL loads it with {@code System.load} (RTLD_LOCAL), so its symbols are not
 * global. Everything here is package-private: the rest of merv goes through {@link Torch}.
 */
final class LibTorch {

    static final Path LIBRARY;

    /** The loaded libtorch's version number (see {@link #aoti_torch_abi_version}). */
    static final long VERSION;

    static {
        Engine engine = Engine.getEngine("PyTorch"); // extracts and loads libtorch first
        if (engine == null) {
            throw new IllegalStateException("the DJL PyTorch engine is not on the classpath");
        }
        Path lib = Path.of(LibUtils.getLibtorchPath(), "libtorch_cpu.so");
        if (!Files.exists(lib)) {
            throw new IllegalStateException("libtorch_cpu.so not found at " + lib
                    + " (DJL engine " + engine.getVersion() + ")");
        }
        LIBRARY = lib;
        Native.register(LibTorch.class, NativeLibrary.getInstance(lib.toString()));
        VERSION = aoti_torch_abi_version();
    }

    private static volatile DeviceSlot.Layout deviceLayout;

    private LibTorch() {}

    static void init() {}

    /** The Device slot layout of the loaded libtorch; fails (once asked) on versions not verified. */
    static DeviceSlot.Layout deviceLayout() {
        DeviceSlot.Layout l = deviceLayout;
        if (l == null) {
            l = DeviceSlot.layoutFor(VERSION);
            deviceLayout = l;
        }
        return l;
    }

    // AOTITorchError aoti_torch_call_dispatcher(const char* op, const char* overload, StableIValue* stack)
    static native int aoti_torch_call_dispatcher(Pointer op, Pointer overload, long[] stack);

    static native int aoti_torch_new_tensor_handle(long orig, long[] out);

    static native int aoti_torch_delete_tensor_object(long handle);

    static native int aoti_torch_get_dtype(long handle, int[] out);

    static native int aoti_torch_get_device_type(long handle, int[] out);

    static native int aoti_torch_get_device_index(long handle, int[] out);

    static native int aoti_torch_get_numel(long handle, long[] out);

    static native int aoti_torch_get_data_ptr(long handle, long[] out);

    // a view of self's storage with the given sizes, strides and storage offset (added to self's);
    // libtorch does not check that the view stays inside the storage: callers do
    static native int aoti_torch__reinterpret_tensor(long self, long ndim, long[] sizes, long[] strides,
            long offsetIncrement, long[] out);

    static native int aoti_torch_get_dim(long handle, long[] out);

    /** Writes a pointer to the tensor's int64 strides (owned by the tensor) into {@code out}. */
    static native int aoti_torch_get_strides(long handle, long[] out);

    /**
     * The libtorch version as {@code major << 56 | minor << 48 | patch << 40} (2.7.1 reports
     * {@code 0x0207010000000000}); exported since libtorch 2.7.
     */
    static native long aoti_torch_abi_version();

    /** libtorch's code for the CPU device type (c10::DeviceType::CPU). */
    static native int aoti_torch_device_type_cpu();

    /** libtorch's code for the CUDA device type (c10::DeviceType::CUDA). */
    static native int aoti_torch_device_type_cuda();

    /** C++ {@code bool}: one byte. */
    static native byte aoti_torch_grad_mode_is_enabled();

    static native void aoti_torch_grad_mode_set_enabled(byte enabled);
}
