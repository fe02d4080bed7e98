package dev.merv.core.train.nccl;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import dev.merv.core.torch.ScalarType;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finding and loading {@code libnccl.so.2}, NCCL's enum codes, and turning its result codes into
 * {@link NcclException}s that name the call.
 *
 * <p>Where the library comes from, first match wins:
 * <ol>
 *   <li>{@code -Dmerv.nccl.library=PATH} or {@code MERV_NCCL_LIBRARY=PATH}: that file and nothing else;</li>
 *   <li>the pip wheel beside the loaded torch: {@code site-packages/nvidia/nccl/lib/libnccl.so.2} (or
 *       any {@code nvidia/.../lib/libnccl.so.2}), found from the real location of torch's libraries;</li>
 *   <li>the system's {@code libnccl.so.2} (the dynamic loader's search path; a CUDA torch that links
 *       NCCL has usually loaded it already).</li>
 * </ol>
 */
public final class Nccl {

    /** System property naming the library file. */
    public static final String PROPERTY = "merv.nccl.library";
    /** Environment variable naming the library file. */
    public static final String ENV = "MERV_NCCL_LIBRARY";
    /** The soname NCCL 2 ships under. */
    public static final String SONAME = "libnccl.so.2";
    /** NCCL 2.10 is the first with bf16. */
    public static final int MIN_VERSION = 21000;

    /** {@code ncclRedOp_t}. */
    static final int SUM = 0;

    private static final String[] RESULTS = {"ncclSuccess", "ncclUnhandledCudaError", "ncclSystemError",
        "ncclInternalError", "ncclInvalidArgument", "ncclInvalidUsage", "ncclRemoteError", "ncclInProgress"};

    private Nccl() {}

    /** A place the library may be: where the choice came from, and the file or soname to open. */
    public record Candidate(String origin, String library) {}

    /**
     * The places to try, in order. {@code torchLibDir} is the folder of the libtorch the engine loaded
     * (links are followed to find the wheel's {@code site-packages}); {@code override} is the property
     * or environment value, or null.
     */
    public static List<Candidate> candidates(Path torchLibDir, String override) {
        List<Candidate> out = new ArrayList<>();
        if (override != null && !override.isBlank()) {
            out.add(new Candidate(PROPERTY + " / " + ENV, override.trim()));
            return out;
        }
        if (torchLibDir != null) {
            for (Path site : sitePackages(torchLibDir)) {
                Path direct = site.resolve("nvidia/nccl/lib").resolve(SONAME);
                if (Files.isRegularFile(direct)) {
                    out.add(new Candidate("the pip nvidia-nccl wheel beside torch", direct.toString()));
                }
                for (Path p : glob(site.resolve("nvidia"), 2)) {
                    if (!p.equals(direct) && out.stream().noneMatch(c -> c.library().equals(p.toString()))) {
                        out.add(new Candidate("a pip nvidia wheel beside torch", p.toString()));
                    }
                }
            }
        }
        out.add(new Candidate("the system's dynamic loader path", SONAME));
        return out;
    }

    /** The override from {@code -Dmerv.nccl.library} or {@code MERV_NCCL_LIBRARY} (property first), or null. */
    public static String override() {
        String p = System.getProperty(PROPERTY);
        return p != null && !p.isBlank() ? p : System.getenv(ENV);
    }

    /**
     * Loads the first candidate that opens and checks its version. A missing or too old library is an
     * {@link NcclException} listing every place tried and how to point merv at one.
     */
    public static NcclLibrary load(List<Candidate> candidates) {
        List<String> tried = new ArrayList<>();
        for (Candidate c : candidates) {
            if (c.library().contains("/") && !Files.exists(Path.of(c.library()))) {
                tried.add(c.library() + " (" + c.origin() + "): no such file");
                continue;
            }
            NcclLibrary lib;
            try {
                lib = Native.load(c.library(), NcclLibrary.class);
            } catch (UnsatisfiedLinkError e) {
                tried.add(c.library() + " (" + c.origin() + "): " + e.getMessage());
                continue;
            }
            requireVersion(lib, c.library());
            return lib;
        }
        throw new NcclException("load " + SONAME, -1, "more than one GPU replica needs NCCL (" + SONAME
                + "), and none could be loaded; tried: " + String.join("; ", tried) + ". Point merv at it with -D"
                + PROPERTY + "=PATH or " + ENV + "=PATH (pip: site-packages/nvidia/nccl/lib/" + SONAME
                + "), or train on one GPU (--devices gpu0)");
    }

    /** The library's version code ({@code ncclGetVersion}), refusing versions without bf16. */
    static int requireVersion(NcclLibrary lib, String where) {
        IntByReference v = new IntByReference();
        check(lib, lib.ncclGetVersion(v), "ncclGetVersion", null);
        if (v.getValue() < MIN_VERSION) {
            throw new NcclException("ncclGetVersion", 0, where + " is NCCL " + versionString(v.getValue())
                    + "; merv needs 2.10 or later (bf16 reductions)");
        }
        return v.getValue();
    }

    /** {@code 2.27.3} from NCCL's version code (the pre-2.9 scheme included). */
    public static String versionString(int code) {
        if (code >= 10000) {
            return code / 10000 + "." + code / 100 % 100 + "." + code % 100;
        }
        return code / 1000 + "." + code / 100 % 10 + "." + code % 100;
    }

    /** The {@code ncclDataType_t} for a tensor dtype; {@code reduce} refuses the types a sum is meaningless on. */
    static int dataType(ScalarType t, boolean reduce) {
        switch (t) {
            case INT8: return 0;
            case UINT8: return 1;
            case INT32: return 2;
            case INT64: return 4;
            case FLOAT16: return 6;
            case FLOAT32: return 7;
            case FLOAT64: return 8;
            case BFLOAT16: return 9;
            case BOOL:
                if (!reduce) {
                    return 1; // moved as bytes
                }
                break;
            default:
                break;
        }
        throw new IllegalArgumentException("NCCL has no " + (reduce ? "sum over " : "type for ")
                + t.name().toLowerCase(Locale.ROOT) + " tensors");
    }

    /** The {@code ncclResult_t} name of a code. */
    static String resultName(int rc) {
        return rc >= 0 && rc < RESULTS.length ? RESULTS[rc] : "ncclResult " + rc;
    }

    /** Throws an {@link NcclException} naming {@code call} when {@code rc} is not success. */
    static void check(NcclLibrary lib, int rc, String call, Pointer comm) {
        if (rc == 0) {
            return;
        }
        StringBuilder msg = new StringBuilder(call).append(" failed: ").append(resultName(rc));
        String text = safe(() -> lib.ncclGetErrorString(rc));
        if (text != null && !text.isBlank()) {
            msg.append(" (").append(text).append(')');
        }
        String last = safe(() -> lib.ncclGetLastError(comm));
        if (last != null && !last.isBlank()) {
            msg.append(": ").append(last.trim());
        }
        if (rc == 1) {
            msg.append(". A CUDA error inside NCCL: check the driver and that every device exists");
        } else if (rc == 2) {
            msg.append(". A system error (shared memory, sockets, /dev/shm size) inside NCCL; NCCL_DEBUG=WARN tells more");
        }
        throw new NcclException(call, rc, msg.toString());
    }

    private static String safe(java.util.function.Supplier<String> s) {
        try {
            return s.get();
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            return null; // an old NCCL without ncclGetLastError: the code and its string still say what failed
        }
    }

    private static List<Path> sitePackages(Path torchLibDir) {
        List<Path> out = new ArrayList<>();
        for (String lib : new String[] {"libtorch_cuda.so", "libtorch_cpu.so"}) {
            Path p = torchLibDir.resolve(lib);
            if (!Files.exists(p)) {
                continue;
            }
            try {
                // torch/lib/libtorch_cpu.so -> site-packages is three levels up
                Path site = p.toRealPath().getParent().getParent().getParent();
                if (site != null && !out.contains(site)) {
                    out.add(site);
                }
            } catch (IOException e) {
                // an unreadable link: the system loader path is still tried
            }
        }
        return out;
    }

    /** Every {@code lib/libnccl.so.2} up to {@code depth} folders below {@code dir} ({@code nvidia/X/lib}, {@code nvidia/X/Y/lib}). */
    private static List<Path> glob(Path dir, int depth) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            List<Path> children = new ArrayList<>();
            ds.forEach(children::add);
            children.sort(null);
            for (Path child : children) {
                Path f = child.resolve("lib").resolve(SONAME);
                if (Files.isRegularFile(f)) {
                    out.add(f);
                }
                if (depth > 1 && Files.isDirectory(child)) {
                    out.addAll(glob(child, depth - 1));
                }
            }
        } catch (IOException e) {
            // unreadable folder: skip it
        }
        return out;
    }
}
