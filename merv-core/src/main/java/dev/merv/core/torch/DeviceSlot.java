package dev.merv.core.torch;

import java.util.Locale;

/**
 * How a {@code Device} argument is written into one 64-bit slot of the dispatcher stack. libtorch
 * changed this layout between releases, and the entry point cannot tell the caller: a slot in the
 * wrong layout is either refused ("Device index ... is out of range") or read as another device.
 *
 * <ul>
 *   <li>libtorch 2.7: the slot holds the two bytes of a {@code c10::Device}: the device type in byte
 *       0, the index (an int8, -1 for "no index") in byte 1.</li>
 *   <li>libtorch 2.10 and later (the stable ABI's {@code torch::stable::Device}): the index as an
 *       int32 in the low 32 bits, the device type in the high 32 bits.</li>
 *   <li>2.8 and 2.9: not verified; {@link #layoutFor} refuses them rather than guess (merv's own
 *       device moves pass no {@code Device}, see {@link Torch#toDevice}).</li>
 * </ul>
 *
 * <p>The device type code is libtorch's own ({@code aoti_torch_device_type_cpu()/cuda()}), asked
 * of the loaded library rather than assumed.
 */
final class DeviceSlot {

    /** The slot layouts libtorch has used. */
    enum Layout { C10_BYTES, TYPE_HIGH_INDEX_LOW }

    private DeviceSlot() {}

    /** The layout the libtorch of this ABI version reads; fails for versions not verified. */
    static Layout layoutFor(long abiVersion) {
        int major = (int) (abiVersion >>> 56) & 0xFF;
        int minor = (int) (abiVersion >>> 48) & 0xFF;
        if (major == 2 && minor == 7) {
            return Layout.C10_BYTES;
        }
        if (major > 2 || (major == 2 && minor >= 10)) {
            return Layout.TYPE_HIGH_INDEX_LOW;
        }
        throw new IllegalStateException(String.format(Locale.ROOT,
                "passing a Device through libtorch %s's dispatcher entry point is not supported: its slot layout is"
                        + " verified for 2.7 and 2.10+ only", versionString(abiVersion)));
    }

    /** The slot for device {@code type} (libtorch's code) and {@code index} (-1 = none). */
    static long encode(Layout layout, int type, int index) {
        if (index < -1 || index > Byte.MAX_VALUE) {
            throw new IllegalArgumentException("device index " + index + " is outside libtorch's range -1.." + Byte.MAX_VALUE);
        }
        switch (layout) {
            case C10_BYTES:
                return (type & 0xFFL) | ((index & 0xFFL) << 8);
            case TYPE_HIGH_INDEX_LOW:
                return ((type & 0xFFFFFFFFL) << 32) | (index & 0xFFFFFFFFL);
            default:
                throw new AssertionError(layout);
        }
    }

    /** {@code major.minor.patch} of an ABI version number. */
    static String versionString(long abiVersion) {
        return ((abiVersion >>> 56) & 0xFF) + "." + ((abiVersion >>> 48) & 0xFF) + "." + ((abiVersion >>> 40) & 0xFF);
    }
}
