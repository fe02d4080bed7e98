package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.weights.SafeTensors;
import dev.merv.core.weights.SafeTensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host-to-device paths on a GPU, for the kit (skipped where libtorch sees no GPU): the host refuses device
 * addresses, weights load into device memory through a pinned host tensor bit for bit, non-blocking uploads
 * give the values DJL's blocking create gives, device-made scalars, memory queries, TF32 switches.
 */
class TransfersGpuTest {

    @TempDir
    Path dir;

    @BeforeEach
    void needsAGpu() {
        Assumptions.assumeTrue(Cuda.deviceCount() > 0, "no CUDA device: " + Cuda.describe());
    }

    @Test
    void dataPointerRefusesDeviceMemory() {
        try (NDManager gpu = NDManager.newBaseManager(Device.gpu(0))) {
            NDArray x = gpu.zeros(new Shape(4));
            assertThatThrownBy(() -> Torch.dataPointer(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("needs a CPU tensor");
        }
    }

    @Test
    void weightsLoadIntoDeviceMemoryBitForBit() {
        Random r = new Random(1);
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu()); NDManager gpu = NDManager.newBaseManager(Device.gpu(0))) {
            float[] f = new float[3000];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) r.nextGaussian();
            }
            NDArray fp32 = cpu.create(f, new Shape(30, 100));
            Map<String, NDArray> t = new LinkedHashMap<>();
            t.put("f32", fp32);
            t.put("bf16", Torch.copy(fp32, ScalarType.BFLOAT16));
            t.put("i64", cpu.create(new long[] {Long.MIN_VALUE, 3, Long.MAX_VALUE}));
            Path file = dir.resolve("w.safetensors");
            SafeTensorsWriter.write(file, t);
            try (SafeTensors st = SafeTensors.open(file)) {
                for (String name : t.keySet()) {
                    NDArray onGpu = st.load(name, gpu);
                    assertThat(onGpu.getDevice()).isEqualTo(Device.gpu(0));
                    assertThat(Torch.dtype(onGpu)).isEqualTo(Torch.dtype(t.get(name)));
                    NDArray back = Torch.toDevice(onGpu, cpu, Torch.dtype(onGpu));
                    assertThat(bytes(back)).as(name).isEqualTo(bytes(t.get(name)));
                }
            }
        }
    }

    @Test
    void uploadsAndDeviceScalars() {
        try (NDManager cpu = NDManager.newBaseManager(Device.cpu()); NDManager gpu = NDManager.newBaseManager(Device.gpu(0))) {
            assertThat(Transfers.pinning()).isTrue();
            NDArray ids = Transfers.upload(new long[] {5, -2, 1L << 40}, new Shape(3), gpu);
            NDArray mask = Transfers.upload(new boolean[] {true, false}, new Shape(2), gpu);
            float[] v = {1.5f, -3.25f, 1f + 1f / 256, 7e-3f};
            NDArray bf = Transfers.upload(v, new Shape(4), ScalarType.BFLOAT16, gpu);
            assertThat(ids.getDevice()).isEqualTo(Device.gpu(0));
            assertThat(ids.toLongArray()).containsExactly(5, -2, 1L << 40);
            assertThat(mask.toBooleanArray()).containsExactly(true, false);
            NDArray cast = Torch.copy(Transfers.upload(v, new Shape(4), ScalarType.FLOAT32, gpu), ScalarType.BFLOAT16);
            assertThat(Torch.toFloatArray(bf)).containsExactly(Torch.toFloatArray(cast));
            NDArray s = Torch.scalar(gpu, 0.125, ScalarType.FLOAT32);
            assertThat(s.getDevice()).isEqualTo(Device.gpu(0));
            NDArray x = gpu.ones(new Shape(3));
            Torch.mulInPlace(x, 4);
            assertThat(x.toFloatArray()).containsExactly(4f, 4f, 4f);
            NDArray host = Torch.toDevice(x, cpu, ScalarType.FLOAT32);
            assertThat(host.toFloatArray()).containsExactly(4f, 4f, 4f);
        }
    }

    @Test
    void memoryQueriesAndTf32() {
        long[] info = Cuda.memoryInfo(0);
        assertThat(info[1]).isPositive();
        assertThat(info[0]).isBetween(0L, info[1]);
        Cuda.synchronize(0);
        boolean before = Cuda.tf32MatmulAllowed();
        Cuda.allowTf32(false);
        assertThat(Cuda.tf32MatmulAllowed()).isFalse();
        Cuda.allowTf32(before);
    }

    private static byte[] bytes(NDArray a) {
        NDArray c = Torch.dtype(a) == ScalarType.BFLOAT16 ? Torch.viewAs(a, ScalarType.FLOAT16) : a;
        java.nio.ByteBuffer b = c.toByteBuffer();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
