package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** What {@link Cuda} reports on a CPU libtorch (the build's; the kit checks a CUDA one on a GPU machine). */
class CudaTest {

    @Test
    void aCpuLibtorchSeesNoGpuAndRefusesStreams() {
        if (Cuda.isCudaBuild()) {
            assertThat(Cuda.deviceCount()).isGreaterThanOrEqualTo(0);
            return;
        }
        assertThat(Cuda.deviceCount()).isZero();
        assertThat(Cuda.describe()).contains("without CUDA");
        assertThatThrownBy(() -> Cuda.currentStream(0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("aoti_torch_get_current_cuda_stream").hasMessageContaining("libtorch_cuda.so");
        assertThatThrownBy(() -> Cuda.guard(0)).hasMessageContaining("aoti_torch_create_cuda_guard");
        assertThatThrownBy(() -> Cuda.memoryInfo(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void tf32SwitchesReachLibtorchsGlobalContext() {
        boolean before = Cuda.tf32MatmulAllowed();
        try {
            Cuda.allowTf32(true);
            assertThat(Cuda.tf32MatmulAllowed()).isTrue();
            Cuda.allowTf32(false);
            assertThat(Cuda.tf32MatmulAllowed()).isFalse();
        } finally {
            Cuda.allowTf32(before);
        }
    }
}
