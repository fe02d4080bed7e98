package dev.merv.core.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code --devices}: which local devices get a replica. Default ({@code null}, "" or {@code auto}):
 * every local GPU, else one CPU replica. {@code cpu} = one CPU replica; {@code cpu:N} = N CPU
 * replicas (tests, CPU data parallelism); {@code gpu} = every GPU; {@code 0,1} or {@code gpu:0,1} =
 * those GPUs.
 */
public final class Devices {

    private Devices() {}

    public static List<Device> parse(String spec) {
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
        int gpus = Engine.getInstance().getGpuCount();
        List<Device> out = new ArrayList<>();
        if (s.isEmpty() || s.equals("auto")) {
            if (gpus == 0) {
                out.add(Device.cpu());
            } else {
                for (int i = 0; i < gpus; i++) {
                    out.add(Device.gpu(i));
                }
            }
            return out;
        }
        if (s.equals("cpu")) {
            return List.of(Device.cpu());
        }
        if (s.startsWith("cpu:")) {
            int n = parseInt(s.substring(4), spec);
            if (n < 1) {
                throw new IllegalArgumentException("--devices " + spec + ": need at least one CPU replica");
            }
            for (int i = 0; i < n; i++) {
                out.add(Device.cpu());
            }
            return out;
        }
        if (s.equals("gpu")) {
            if (gpus == 0) {
                throw new IllegalArgumentException("--devices gpu: no GPU visible to the engine");
            }
            return parse("auto");
        }
        String ids = s.startsWith("gpu:") ? s.substring(4) : s;
        for (String part : ids.split(",")) {
            int id = parseInt(part.trim(), spec);
            if (id < 0 || id >= gpus) {
                throw new IllegalArgumentException("--devices " + spec + ": GPU " + id + " does not exist (" + gpus + " visible)");
            }
            out.add(Device.gpu(id));
        }
        return out;
    }

    private static int parseInt(String s, String spec) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--devices '" + spec + "': expected auto, cpu, cpu:N, gpu or a list of GPU ids");
        }
    }
}
