package dev.merv.core.train;

import ai.djl.Device;
import dev.merv.core.torch.Cuda;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.IntSupplier;

/**
 * {@code --devices}: which local devices get a replica. One grammar: a bare kind is "all of them",
 * {@code KIND:N} is a count, {@code gpuI} names one GPU.
 *
 * <ul>
 *   <li>{@code auto} (also {@code null} or empty): every GPU libtorch sees, else one CPU replica;</li>
 *   <li>{@code cpu}: one CPU replica; {@code cpu:N}: N CPU replicas (tests, CPU data parallelism);</li>
 *   <li>{@code gpu}: every GPU (an error when there is none); {@code gpu:N}: the first N GPUs,
 *       {@code gpu0} to {@code gpuN-1};</li>
 *   <li>{@code gpu0,gpu2,...}: exactly those GPUs, one replica each, in that order.</li>
 * </ul>
 *
 * <p>The GPU count is libtorch's own ({@link Cuda#deviceCount()}), so {@code auto} trains on the GPUs
 * whenever torch sees any. A GPU that does not exist, a repeated GPU, {@code gpu:0} and anything
 * outside the grammar (e.g. {@code cuda:0} or a bare {@code 0,1}) are errors that name the value.
 */
public final class Devices {

    /** The grammar, for help texts and error messages. */
    public static final String GRAMMAR = "auto | cpu | cpu:N | gpu | gpu:N | gpu0,gpu1,...";

    private Devices() {}

    /** Parses {@code spec} against the GPUs libtorch sees (asked only when the spec needs it). */
    public static List<Device> parse(String spec) {
        return parse(spec, Cuda::deviceCount);
    }

    /** Parses {@code spec} on a machine where libtorch sees {@code gpus} GPUs. */
    public static List<Device> parse(String spec, int gpus) {
        return parse(spec, () -> gpus);
    }

    private static List<Device> parse(String spec, IntSupplier gpuCount) {
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
        List<Device> out = new ArrayList<>();
        if (s.equals("cpu")) {
            return List.of(Device.cpu());
        }
        if (s.startsWith("cpu:")) {
            int n = count(s.substring(4), spec, "CPU replicas");
            for (int i = 0; i < n; i++) {
                out.add(Device.cpu());
            }
            return out;
        }
        int gpus = gpuCount.getAsInt();
        if (s.isEmpty() || s.equals("auto")) {
            if (gpus == 0) {
                return List.of(Device.cpu());
            }
            return firstGpus(gpus);
        }
        if (s.equals("gpu")) {
            if (gpus == 0) {
                throw new IllegalArgumentException("--devices gpu: libtorch sees no GPU" + noGpuHint());
            }
            return firstGpus(gpus);
        }
        if (s.startsWith("gpu:")) {
            int n = count(s.substring(4), spec, "GPUs");
            if (n > gpus) {
                throw new IllegalArgumentException("--devices " + spec + ": asks for " + n + " GPUs, libtorch sees "
                        + gpus + visible(gpus) + (gpus == 0 ? noGpuHint() : ""));
            }
            return firstGpus(n);
        }
        Set<Integer> ids = new LinkedHashSet<>();
        for (String part : s.split(",", -1)) {
            String p = part.trim();
            if (!p.matches("gpu[0-9]+")) {
                throw grammarError(spec, p.isEmpty() ? "an empty entry" : "'" + p + "'");
            }
            int id = Integer.parseInt(p.substring(3));
            if (id >= gpus) {
                throw new IllegalArgumentException("--devices " + spec + ": " + p + " does not exist; libtorch sees "
                        + gpus + " GPU(s)" + visible(gpus) + (gpus == 0 ? noGpuHint() : ""));
            }
            if (!ids.add(id)) {
                throw new IllegalArgumentException("--devices " + spec + ": " + p + " is named twice (one replica per GPU)");
            }
        }
        for (int id : ids) {
            out.add(Device.gpu(id));
        }
        return out;
    }

    private static List<Device> firstGpus(int n) {
        List<Device> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Device.gpu(i));
        }
        return out;
    }

    private static int count(String n, String spec, String what) {
        int v;
        try {
            v = Integer.parseInt(n.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--devices " + spec + ": '" + n + "' is not a count of " + what
                    + " (name single GPUs as gpu0,gpu1; expected " + GRAMMAR + ")");
        }
        if (v < 1) {
            throw new IllegalArgumentException("--devices " + spec + ": need at least one of the " + what);
        }
        return v;
    }

    private static String visible(int gpus) {
        return gpus == 0 ? "" : gpus == 1 ? " (gpu0)" : " (gpu0..gpu" + (gpus - 1) + ")";
    }

    private static String noGpuHint() {
        return Cuda.isCudaBuild() ? " (a CUDA libtorch with no usable GPU: check the driver and CUDA_VISIBLE_DEVICES)"
                : " (the loaded libtorch is a CPU build: see docs/gpus.md for a CUDA one)";
    }

    private static IllegalArgumentException grammarError(String spec, String what) {
        return new IllegalArgumentException("--devices '" + spec + "': " + what + " is not a device; expected "
                + GRAMMAR);
    }
}
