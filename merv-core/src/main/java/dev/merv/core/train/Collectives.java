package dev.merv.core.train;

import ai.djl.Device;
import dev.merv.core.train.nccl.NcclCollective;
import java.util.List;
import java.util.Locale;

/**
 * Picks the {@link Collective} for a set of replica devices: NCCL when there are several replicas and
 * all are GPUs, the in-process collective otherwise (CPU replicas, a single replica). The property
 * {@code -Dmerv.collective=inprocess} keeps the in-process one on GPUs too (a fallback and a baseline
 * for comparisons); {@code nccl} asks for NCCL even for a single GPU (the kit's check of the binding).
 */
public final class Collectives {

    /** System property: {@code auto} (default), {@code nccl} or {@code inprocess}. */
    public static final String PROPERTY = "merv.collective";

    private Collectives() {}

    /** The collective for replicas on {@code devices} (rank = position), per {@code -Dmerv.collective}. */
    public static Collective forDevices(List<Device> devices) {
        return forDevices(devices, System.getProperty(PROPERTY, "auto"));
    }

    /** The collective for replicas on {@code devices} under the given choice ({@code auto}, {@code nccl}, {@code inprocess}). */
    public static Collective forDevices(List<Device> devices, String choice) {
        String c = choice == null ? "auto" : choice.trim().toLowerCase(Locale.ROOT);
        boolean allGpu = !devices.isEmpty() && devices.stream().allMatch(Device::isGpu);
        switch (c) {
            case "inprocess":
                return new InProcessCollective(devices.size());
            case "nccl":
                if (!allGpu) {
                    throw new IllegalArgumentException("-D" + PROPERTY + "=nccl needs GPU replicas, got " + devices);
                }
                return NcclCollective.create(devices);
            case "auto":
            case "":
                return allGpu && devices.size() > 1 ? NcclCollective.create(devices) : new InProcessCollective(devices.size());
            default:
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + choice + ": expected auto, nccl or inprocess");
        }
    }
}
