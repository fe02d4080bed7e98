package dev.merv.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import dev.merv.core.train.nccl.NcclException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which collective replicas get. */
class CollectivesTest {

    @Test
    void cpuReplicasAndSingleReplicasStayInProcess() {
        assertThat(Collectives.forDevices(List.of(Device.cpu(), Device.cpu()), "auto")).isInstanceOf(InProcessCollective.class);
        assertThat(Collectives.forDevices(List.of(Device.cpu()), null)).isInstanceOf(InProcessCollective.class);
        assertThat(Collectives.forDevices(List.of(Device.gpu(0)), "auto")).isInstanceOf(InProcessCollective.class);
        assertThat(Collectives.forDevices(List.of(Device.gpu(0), Device.gpu(1)), "inprocess"))
                .isInstanceOf(InProcessCollective.class).extracting(Collective::size).isEqualTo(2);
    }

    @Test
    void severalGpusAskForNccl() {
        // no GPU and no NCCL on the build machine: the NCCL path is taken and fails naming what is missing
        assertThatThrownBy(() -> Collectives.forDevices(List.of(Device.gpu(0), Device.gpu(1)), "auto"))
                .isInstanceOf(NcclException.class).hasMessageContaining("NCCL");
        assertThatThrownBy(() -> Collectives.forDevices(List.of(Device.cpu()), "nccl")).hasMessageContaining("GPU replicas");
        assertThatThrownBy(() -> Collectives.forDevices(List.of(Device.cpu()), "mpi")).hasMessageContaining("auto, nccl or inprocess");
    }
}
