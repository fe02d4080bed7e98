package dev.merv.core.torch;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What merv asks of libtorch's CUDA side: how many GPUs torch itself sees, each device's current
 * CUDA stream, and device guards. Bound to the {@code libc10_cuda.so} and {@code libtorch_cuda.so}
 * beside the {@code libtorch_cpu.so} the engine loaded, when they are there; a CPU-only libtorch
 * has neither, and then {@link #deviceCount()} is 0 and the stream and guard calls refuse.
 *
 * <p>The GPU count comes from torch ({@code c10::cuda::device_count()}), not from DJL's
 * {@code CudaUtils}, which asks a {@code libcudart} of its own finding through JNA and can report 0
 * next to a pip torch that sees every GPU. The stream and guard calls are the AOTInductor CUDA shim
 * ({@code aoti_torch_get_current_cuda_stream}, {@code aoti_torch_create_cuda_guard}), exported by
 * {@code libtorch_cuda.so} since before 2.7.
 */
public final class Cuda {

    private static final Binding BINDING = Binding.open(LibTorch.LIBRARY.getParent());

    private Cuda() {}

    /** Number of CUDA devices libtorch sees (0 for a CPU-only libtorch or a machine without a usable driver). */
    public static int deviceCount() {
        return BINDING.deviceCount();
    }

    /** True when the loaded libtorch is a CUDA build (whether or not a GPU is present). */
    public static boolean isCudaBuild() {
        return BINDING.torchCuda != null;
    }

    /**
     * The current CUDA stream ({@code cudaStream_t}, as an address) of {@code device} on the calling
     * thread: where libtorch enqueues this thread's kernels on that device, and where work that must
     * be ordered with them (NCCL collectives) goes.
     */
    public static long currentStream(int device) {
        Function f = BINDING.require("aoti_torch_get_current_cuda_stream");
        PointerByReference out = new PointerByReference();
        check(f.invokeInt(new Object[] {device, out}), "aoti_torch_get_current_cuda_stream(" + device + ")");
        return Pointer.nativeValue(out.getValue());
    }

    /** Makes {@code device} the calling thread's current CUDA device until closed (libtorch's CUDAGuard). */
    public static Guard guard(int device) {
        Function create = BINDING.require("aoti_torch_create_cuda_guard");
        PointerByReference out = new PointerByReference();
        check(create.invokeInt(new Object[] {device, out}), "aoti_torch_create_cuda_guard(" + device + ")");
        return new Guard(out.getValue());
    }

    /**
     * Allows or forbids TF32 tensor-core maths for fp32 matmuls (cuBLAS) and convolutions (cuDNN), process
     * wide ({@code at::globalContext()}'s switches, as {@code torch.backends.cuda.matmul.allow_tf32} and
     * {@code torch.backends.cudnn.allow_tf32} set them). libtorch's defaults are cuBLAS off, cuDNN on, so an
     * fp32 convolution on a GPU rounds its inputs to 10 mantissa bits unless this is switched off: the fixture
     * tests switch both off to compare fp32 against the reference at fp32 tolerances. A CPU-only libtorch has
     * the same switches (they change nothing there).
     */
    public static void allowTf32(boolean allow) {
        Pointer ctx = Tf32.CONTEXT.invokePointer(new Object[0]);
        Tf32.SET_CUBLAS.invokeVoid(new Object[] {ctx, (byte) (allow ? 1 : 0)});
        Tf32.SET_CUDNN.invokeVoid(new Object[] {ctx, (byte) (allow ? 1 : 0)});
    }

    /** Whether fp32 matmuls may use TF32 ({@code at::Context::allowTF32CuBLAS()}). */
    public static boolean tf32MatmulAllowed() {
        Pointer ctx = Tf32.CONTEXT.invokePointer(new Object[0]);
        return ((Byte) Tf32.GET_CUBLAS.invoke(Byte.class, new Object[] {ctx})) != 0;
    }

    /**
     * Free and total bytes of GPU {@code device} as the CUDA runtime reports them ({@code cudaMemGetInfo}):
     * {@code total - free} is everything held on the device (torch's caching allocator's reserved memory, the
     * CUDA context, other processes). Since the caching allocator keeps what it reserved until asked to empty
     * its cache, {@code total - free} after a run is the run's peak reserved memory plus the context.
     */
    public static long[] memoryInfo(int device) {
        CudaRuntime rt = CudaRuntime.get();
        try (Guard g = guard(device)) {
            long[] free = new long[1];
            long[] total = new long[1];
            int rc = rt.function("cudaMemGetInfo").invokeInt(new Object[] {free, total});
            if (rc != 0) {
                throw new BridgeException("cudaMemGetInfo", "CUDA runtime error " + rc);
            }
            return new long[] {free[0], total[0]};
        }
    }

    /** Waits until every kernel queued on GPU {@code device} has finished ({@code cudaDeviceSynchronize}). */
    public static void synchronize(int device) {
        CudaRuntime rt = CudaRuntime.get();
        try (Guard g = guard(device)) {
            int rc = rt.function("cudaDeviceSynchronize").invokeInt(new Object[0]);
            if (rc != 0) {
                throw new BridgeException("cudaDeviceSynchronize", "CUDA runtime error " + rc);
            }
        }
    }

    /** One line for logs and the kit's summary: the libraries found and the GPU count. */
    public static String describe() {
        if (BINDING.torchCuda == null) {
            return "libtorch without CUDA (" + LibTorch.LIBRARY.getParent() + ")";
        }
        return "libtorch CUDA build, " + deviceCount() + " GPU(s) visible (" + BINDING.torchCudaPath + ")";
    }

    /** A scoped device switch; close on the thread that opened it. */
    public static final class Guard implements AutoCloseable {
        private Pointer handle;

        private Guard(Pointer handle) {
            this.handle = handle;
        }

        @Override
        public void close() {
            if (handle != null) {
                check(BINDING.require("aoti_torch_delete_cuda_guard").invokeInt(new Object[] {handle}),
                        "aoti_torch_delete_cuda_guard");
                handle = null;
            }
        }
    }

    /** The TF32 switches of {@code at::Context} in the loaded libtorch_cpu.so (same symbols from 2.7 to 2.14). */
    private static final class Tf32 {
        static final NativeLibrary CPU = NativeLibrary.getInstance(LibTorch.LIBRARY.toString());
        static final Function CONTEXT = CPU.getFunction("_ZN2at13globalContextEv");
        static final Function SET_CUBLAS = CPU.getFunction("_ZN2at7Context18setAllowTF32CuBLASEb");
        static final Function SET_CUDNN = CPU.getFunction("_ZN2at7Context17setAllowTF32CuDNNEb");
        static final Function GET_CUBLAS = CPU.getFunction("_ZNK2at7Context15allowTF32CuBLASEv");
    }

    /**
     * The CUDA runtime that libtorch_cuda.so loaded, found by its path in {@code /proc/self/maps}: a pip torch
     * carries a versioned {@code libcudart.so.N} in its {@code nvidia/} wheels, which no generic name finds.
     */
    private static final class CudaRuntime {
        private static volatile CudaRuntime instance;
        private final NativeLibrary lib;

        private CudaRuntime(NativeLibrary lib) {
            this.lib = lib;
        }

        static CudaRuntime get() {
            CudaRuntime r = instance;
            if (r == null) {
                if (BINDING.torchCuda == null) {
                    throw new IllegalStateException("the loaded libtorch has no CUDA (" + LibTorch.LIBRARY.getParent() + ")");
                }
                Path found = null;
                try {
                    for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                        int at = line.indexOf('/');
                        if (at >= 0 && line.contains("libcudart.so")) {
                            found = Path.of(line.substring(at).trim());
                            break;
                        }
                    }
                } catch (java.io.IOException e) {
                    throw new IllegalStateException("cannot read /proc/self/maps to find libcudart: " + e, e);
                }
                if (found == null) {
                    throw new IllegalStateException("no libcudart is loaded in this process (libtorch_cuda.so links it"
                            + " statically?); memory queries need the CUDA runtime");
                }
                r = new CudaRuntime(NativeLibrary.getInstance(found.toString()));
                instance = r;
            }
            return r;
        }

        Function function(String name) {
            return lib.getFunction(name);
        }
    }

    private static void check(int rc, String call) {
        if (rc != 0) {
            throw new BridgeException(call, "libtorch returned error code " + rc + " (reason on stderr)");
        }
    }

    /** The optional CUDA libraries of the loaded libtorch. */
    private static final class Binding {
        final NativeLibrary c10Cuda;
        final NativeLibrary torchCuda;
        final Path torchCudaPath;
        private volatile int count = -1;

        private Binding(NativeLibrary c10Cuda, NativeLibrary torchCuda, Path torchCudaPath) {
            this.c10Cuda = c10Cuda;
            this.torchCuda = torchCuda;
            this.torchCudaPath = torchCudaPath;
        }

        static Binding open(Path dir) {
            Path c10 = dir.resolve("libc10_cuda.so");
            Path torch = dir.resolve("libtorch_cuda.so");
            if (!Files.exists(c10) || !Files.exists(torch)) {
                return new Binding(null, null, null);
            }
            // the engine has loaded both already when its flavour is a CUDA one; opening them by full
            // path returns the same handles (RTLD_LOCAL: their symbols are not global)
            return new Binding(NativeLibrary.getInstance(c10.toString()), NativeLibrary.getInstance(torch.toString()), torch);
        }

        int deviceCount() {
            if (c10Cuda == null) {
                return 0;
            }
            int n = count;
            if (n < 0) {
                // c10::DeviceIndex c10::cuda::device_count() noexcept: 0 when CUDA cannot initialise
                Function f = c10Cuda.getFunction("_ZN3c104cuda12device_countEv");
                n = ((Byte) f.invoke(Byte.class, new Object[0])) & 0xFF;
                count = n;
            }
            return n;
        }

        Function require(String name) {
            if (torchCuda == null) {
                throw new IllegalStateException(name + ": the loaded libtorch has no CUDA (no libtorch_cuda.so in "
                        + LibTorch.LIBRARY.getParent() + ")");
            }
            return torchCuda.getFunction(name);
        }
    }
}
