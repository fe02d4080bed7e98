package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.train.Devices;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The bridge on a CUDA device, for the GPU kit (skipped, with the reason, where libtorch sees no GPU):
 * libtorch's GPU count reaches {@code --devices}, device moves through the dispatcher (the Device slot
 * in the loaded libtorch's layout) in both directions and in bf16, streams and guards, and fused
 * attention on the GPU against the CPU.
 */
class CudaBridgeGpuTest {

    @BeforeEach
    void needsAGpu() {
        Assumptions.assumeTrue(Cuda.deviceCount() > 0, "no CUDA device: " + Cuda.describe());
    }

    @Test
    void autoTakesEveryGpuTorchSees() {
        List<Device> auto = Devices.parse("auto");
        assertThat(auto).hasSize(Cuda.deviceCount()).allMatch(Device::isGpu);
        assertThat(Devices.parse("gpu:1")).containsExactly(Device.gpu(0));
    }

    @Test
    void deviceMovesBothWaysInBf16() {
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu()); NDManager gpu = NDManager.newBaseManager(Device.gpu(0))) {
            NDArray x = cpu.create(new float[] {1.5f, -2.25f, 3.0078125f, 1e-3f}, new Shape(2, 2));
            NDArray onGpu = Torch.toDevice(x, gpu, ScalarType.BFLOAT16);
            assertThat(onGpu.getDevice()).isEqualTo(Device.gpu(0));
            assertThat(Torch.dtype(onGpu)).isEqualTo(ScalarType.BFLOAT16);
            NDArray back = Torch.toDevice(onGpu, cpu, ScalarType.FLOAT32);
            assertThat(back.getDevice()).isEqualTo(Device.cpu());
            float[] bf = {1.5f, -2.25f, 3.0f, 0.00099945068359375f}; // the bf16 roundings of the inputs (ties to even)
            assertThat(back.toFloatArray()).containsExactly(bf);
            // an explicit Device argument, as the dispatcher reads it on this libtorch
            Op to = Op.of("aten::to.device(Tensor(a) self, Device device, ScalarType dtype, bool non_blocking=False,"
                    + " bool copy=False, MemoryFormat? memory_format=None) -> Tensor(a)");
            NDArray y = to.call(x, Device.gpu(Cuda.deviceCount() - 1), ScalarType.FLOAT32, false, true);
            assertThat(y.getDevice()).isEqualTo(Device.gpu(Cuda.deviceCount() - 1));
        }
    }

    @Test
    void streamsAndGuards() throws Exception {
        for (int d = 0; d < Cuda.deviceCount(); d++) {
            try (Cuda.Guard g = Cuda.guard(d)) {
                Cuda.currentStream(d); // the default stream may be the null stream: any value is valid
            }
        }
        assertThat(Cuda.describe()).contains("CUDA build");
    }

    @Test
    void fusedAttentionOnTheGpuMatchesTheCpu() {
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu()); NDManager gpu = NDManager.newBaseManager(Device.gpu(0))) {
            NDArray q = cpu.randomNormal(0f, 1f, new Shape(2, 4, 64, 32), DataType.FLOAT32);
            NDArray k = cpu.randomNormal(0f, 1f, new Shape(2, 4, 64, 32), DataType.FLOAT32);
            NDArray v = cpu.randomNormal(0f, 1f, new Shape(2, 4, 64, 32), DataType.FLOAT32);
            float[] ref = Torch.sdpa(q, k, v, null, true).toFloatArray();
            NDArray out = Torch.sdpa(Torch.toDevice(q, gpu, ScalarType.BFLOAT16), Torch.toDevice(k, gpu, ScalarType.BFLOAT16),
                    Torch.toDevice(v, gpu, ScalarType.BFLOAT16), null, true);
            assertThat(out.getDevice()).isEqualTo(Device.gpu(0));
            float[] got = Torch.toFloatArray(out);
            for (int i = 0; i < ref.length; i++) {
                assertThat((double) got[i]).as("element %d", i).isCloseTo(ref[i], org.assertj.core.data.Offset.offset(
                        0.03 + 0.02 * Math.abs(ref[i])));
            }
        }
    }
}
