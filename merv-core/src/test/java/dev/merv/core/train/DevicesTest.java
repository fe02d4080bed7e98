package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The {@code --devices} grammar: auto | cpu | cpu:N | gpu | gpu:N | gpu0,gpu1,... */
class DevicesTest {

    @Test
    void autoTakesEveryGpuTorchSeesElseTheCpu() {
        assertThat(Devices.parse("auto", 0)).containsExactly(Device.cpu());
        assertThat(Devices.parse(null, 0)).containsExactly(Device.cpu());
        assertThat(Devices.parse("", 3)).containsExactly(Device.gpu(0), Device.gpu(1), Device.gpu(2));
        assertThat(Devices.parse("AUTO", 2)).containsExactly(Device.gpu(0), Device.gpu(1));
    }

    @Test
    void namedGpus() {
        assertThat(Devices.parse("gpu0,gpu1", 2)).containsExactly(Device.gpu(0), Device.gpu(1));
        assertThat(Devices.parse(" gpu3 , gpu1 ", 4)).containsExactly(Device.gpu(3), Device.gpu(1));
        assertThat(Devices.parse("gpu0", 8)).containsExactly(Device.gpu(0));
    }

    @Test
    void countsAreKindColonN() {
        assertThat(Devices.parse("cpu", 4)).containsExactly(Device.cpu());
        assertThat(Devices.parse("cpu:3", 0)).hasSize(3).allMatch(d -> d.equals(Device.cpu()));
        assertThat(Devices.parse("gpu:2", 4)).containsExactly(Device.gpu(0), Device.gpu(1));
        assertThat(Devices.parse("gpu", 2)).containsExactly(Device.gpu(0), Device.gpu(1));
    }

    @Test
    void clearErrors() {
        assertThatThrownBy(() -> Devices.parse("gpu2", 2)).hasMessageContaining("gpu2 does not exist")
                .hasMessageContaining("sees 2 GPU(s) (gpu0..gpu1)");
        assertThatThrownBy(() -> Devices.parse("gpu0,gpu1", 0)).hasMessageContaining("gpu0 does not exist")
                .hasMessageContaining("sees 0 GPU(s)");
        assertThatThrownBy(() -> Devices.parse("gpu:4", 2)).hasMessageContaining("asks for 4 GPUs, libtorch sees 2");
        assertThatThrownBy(() -> Devices.parse("gpu:0", 2)).hasMessageContaining("at least one");
        assertThatThrownBy(() -> Devices.parse("gpu:0,1", 2)).hasMessageContaining("not a count")
                .hasMessageContaining("gpu0,gpu1");
        assertThatThrownBy(() -> Devices.parse("gpu0,gpu0", 2)).hasMessageContaining("named twice");
        assertThatThrownBy(() -> Devices.parse("gpu", 0)).hasMessageContaining("sees no GPU");
        for (String bad : List.of("tpu", "0,1", "cuda:0", "gpu0,", "gpu-1", "cpu:x")) {
            assertThatThrownBy(() -> Devices.parse(bad, 2)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("--devices");
        }
        assertThatThrownBy(() -> Devices.parse("cuda:0", 2)).hasMessageContaining(Devices.GRAMMAR);
    }

    @Test
    void theRealGpuCountIsLibtorchs() {
        // on the build machine (CPU libtorch) auto is one CPU replica; on a GPU it would be every GPU
        List<Device> auto = Devices.parse("auto");
        int gpus = dev.merv.core.torch.Cuda.deviceCount();
        assertThat(auto).hasSize(Math.max(1, gpus));
    }
}
