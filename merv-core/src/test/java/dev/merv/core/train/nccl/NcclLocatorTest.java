package dev.merv.core.train.nccl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where merv looks for libnccl.so.2, and what it says when there is none. */
class NcclLocatorTest {

    @Test
    void pipWheelBesideTorchFoundThroughTheKitsLinks(@TempDir Path tmp) throws Exception {
        // a pip layout: site-packages/torch/lib and site-packages/nvidia/nccl/lib, and the kit's
        // DJL folder holding links to torch's libraries
        Path site = tmp.resolve("venv/lib/python3.12/site-packages");
        Path torchLib = Files.createDirectories(site.resolve("torch/lib"));
        Files.writeString(torchLib.resolve("libtorch_cpu.so"), "");
        Files.writeString(torchLib.resolve("libtorch_cuda.so"), "");
        Path nccl = Files.createDirectories(site.resolve("nvidia/nccl/lib")).resolve("libnccl.so.2");
        Files.writeString(nccl, "");
        Path other = Files.createDirectories(site.resolve("nvidia/cu13/lib")).resolve("libnccl.so.2");
        Files.writeString(other, "");
        Path djl = Files.createDirectories(tmp.resolve("djl-jni"));
        Files.createSymbolicLink(djl.resolve("libtorch_cpu.so"), torchLib.resolve("libtorch_cpu.so"));
        Files.createSymbolicLink(djl.resolve("libtorch_cuda.so"), torchLib.resolve("libtorch_cuda.so"));

        List<Nccl.Candidate> c = Nccl.candidates(djl, null);
        assertThat(c).extracting(Nccl.Candidate::library).containsExactly(nccl.toRealPath().toString(),
                other.toRealPath().toString(), "libnccl.so.2");
        assertThat(c.get(0).origin()).contains("pip nvidia-nccl wheel");
        assertThat(c.get(2).origin()).contains("system");
    }

    @Test
    void anOverrideIsTheOnlyCandidate(@TempDir Path tmp) {
        List<Nccl.Candidate> c = Nccl.candidates(tmp, "/opt/nccl/lib/libnccl.so.2");
        assertThat(c).extracting(Nccl.Candidate::library).containsExactly("/opt/nccl/lib/libnccl.so.2");
        assertThat(Nccl.candidates(tmp, null)).extracting(Nccl.Candidate::library).containsExactly("libnccl.so.2");
    }

    @Test
    void nothingLoadableIsAClearError(@TempDir Path tmp) throws Exception {
        Path notALibrary = tmp.resolve("libnccl.so.2");
        Files.writeString(notALibrary, "not an ELF file");
        List<Nccl.Candidate> c = List.of(new Nccl.Candidate("an override", tmp.resolve("missing/libnccl.so.2").toString()),
                new Nccl.Candidate("a wheel", notALibrary.toString()));
        assertThatThrownBy(() -> Nccl.load(c)).isInstanceOf(NcclException.class)
                .hasMessageContaining("more than one GPU replica needs NCCL")
                .hasMessageContaining("missing/libnccl.so.2 (an override): no such file")
                .hasMessageContaining(notALibrary + " (a wheel)")
                .hasMessageContaining("-Dmerv.nccl.library=PATH").hasMessageContaining("MERV_NCCL_LIBRARY")
                .hasMessageContaining("--devices gpu0");
    }
}
