package dev.merv.core.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.merv.core.torch.Cuda;
import org.junit.jupiter.api.Test;

/** {@code -Dmerv.test.device}: its grammar, and a GPU that libtorch does not see fails rather than falling back. */
class FixtureDeviceTest {

    @Test
    void grammarAndRefusals() {
        String saved = System.getProperty(Fixture.DEVICE_PROPERTY);
        try {
            System.setProperty(Fixture.DEVICE_PROPERTY, "cpu");
            assertThat(Fixture.device()).isEqualTo(Device.cpu());
            assertThat(Fixture.devicesFlag()).isEqualTo("cpu");
            try (NDManager m = Fixture.newManager()) {
                assertThat(m.getDevice()).isEqualTo(Device.cpu());
            }
            System.setProperty(Fixture.DEVICE_PROPERTY, "cuda:0:1");
            assertThatThrownBy(Fixture::device).hasMessageContaining("expected cpu, cuda, cuda:N or gpuN");
            for (String gpu : new String[] {"cuda", "gpu", "cuda:0", "gpu0"}) {
                System.setProperty(Fixture.DEVICE_PROPERTY, gpu);
                if (Cuda.deviceCount() > 0) {
                    assertThat(Fixture.device()).isEqualTo(Device.gpu(0));
                    assertThat(Fixture.devicesFlag()).isEqualTo("gpu0");
                } else {
                    assertThatThrownBy(Fixture::device).as(gpu).isInstanceOf(AssertionError.class)
                            .hasMessageContaining(gpu);
                }
            }
        } finally {
            if (saved == null) {
                System.clearProperty(Fixture.DEVICE_PROPERTY);
            } else {
                System.setProperty(Fixture.DEVICE_PROPERTY, saved);
            }
        }
    }
}
