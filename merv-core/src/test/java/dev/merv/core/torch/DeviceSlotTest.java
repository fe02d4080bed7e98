package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/**
 * The Device slot of the dispatcher stack in each libtorch layout, and a live call with an explicit
 * Device on whatever libtorch runs the tests (DJL's 2.7.1 here, 2.14 in the kit's rehearsal).
 */
class DeviceSlotTest {

    private static long version(int major, int minor, int patch) {
        return ((long) major << 56) | ((long) minor << 48) | ((long) patch << 40);
    }

    @Test
    void layoutPerLibtorchVersion() {
        assertThat(DeviceSlot.layoutFor(0x0207010000000000L)).isEqualTo(DeviceSlot.Layout.C10_BYTES);
        assertThat(DeviceSlot.layoutFor(version(2, 10, 0))).isEqualTo(DeviceSlot.Layout.TYPE_HIGH_INDEX_LOW);
        assertThat(DeviceSlot.layoutFor(version(2, 11, 0))).isEqualTo(DeviceSlot.Layout.TYPE_HIGH_INDEX_LOW);
        assertThat(DeviceSlot.layoutFor(0x020E010000000000L)).isEqualTo(DeviceSlot.Layout.TYPE_HIGH_INDEX_LOW);
        assertThatThrownBy(() -> DeviceSlot.layoutFor(version(2, 8, 0))).hasMessageContaining("2.8.0")
                .hasMessageContaining("2.7 and 2.10+");
        assertThatThrownBy(() -> DeviceSlot.layoutFor(version(2, 9, 1))).hasMessageContaining("2.9.1");
        assertThat(DeviceSlot.versionString(0x020E010000000000L)).isEqualTo("2.14.1");
    }

    @Test
    void slotBits() {
        // c10::Device bytes: type in byte 0, int8 index in byte 1 (-1 = 0xFF)
        assertThat(DeviceSlot.encode(DeviceSlot.Layout.C10_BYTES, 0, -1)).isEqualTo(0xFF00L);
        assertThat(DeviceSlot.encode(DeviceSlot.Layout.C10_BYTES, 1, 3)).isEqualTo(0x0301L);
        // stable layout: type in the high 32 bits, int32 index in the low 32 bits
        assertThat(DeviceSlot.encode(DeviceSlot.Layout.TYPE_HIGH_INDEX_LOW, 0, -1)).isEqualTo(0x00000000FFFFFFFFL);
        assertThat(DeviceSlot.encode(DeviceSlot.Layout.TYPE_HIGH_INDEX_LOW, 1, 3)).isEqualTo(0x0000000100000003L);
        assertThatThrownBy(() -> DeviceSlot.encode(DeviceSlot.Layout.C10_BYTES, 1, 200)).hasMessageContaining("200");
    }

    @Test
    void explicitDeviceThroughTheDispatcherOnTheLoadedLibtorch() {
        Op toDevice = Op.of("aten::to.device(Tensor(a) self, Device device, ScalarType dtype,"
                + " bool non_blocking=False, bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)");
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.arange(6f).reshape(new Shape(2, 3));
            NDArray y = toDevice.call(x, Device.cpu(), ScalarType.BFLOAT16, false, true);
            assertThat(Torch.dtype(y)).isEqualTo(ScalarType.BFLOAT16);
            assertThat(y.getDevice()).isEqualTo(Device.cpu());
            assertThat(Torch.toFloatArray(y)).containsExactly(0f, 1f, 2f, 3f, 4f, 5f);
        }
        assertThat(Torch.libtorchVersion()).matches("2\\.\\d+\\.\\d+");
    }

    @Test
    void aGpuDeviceOnACpuLibtorchIsRefusedByLibtorchNotMisread() {
        if (Cuda.isCudaBuild()) {
            return; // on a CUDA libtorch the call is legitimate
        }
        Op zerosLike = Op.of("aten::zeros_like(Tensor self, *, ScalarType? dtype=None, Layout? layout=None,"
                + " Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None) -> Tensor");
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.ones(new Shape(2));
            assertThatThrownBy(() -> zerosLike.call(x, null, null, Device.gpu(0))).isInstanceOf(BridgeException.class)
                    .hasMessageContaining("aten::zeros_like");
        }
    }
}
