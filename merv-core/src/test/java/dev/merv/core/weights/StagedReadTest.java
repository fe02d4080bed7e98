package dev.merv.core.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The path a GPU load takes, run on the CPU: bytes read into a host tensor and then uploaded must equal the
 * bytes read straight into the target tensor, for every dtype (bf16 through its fp16 carrier) and across
 * piecewise reads; a replica's range read of a flat optimizer tensor is exactly that slice.
 */
class StagedReadTest {

    @TempDir
    Path dir;

    @Test
    void hostStagedReadsEqualDirectReadsBitForBit() throws Exception {
        Random r = new Random(5);
        int saved = TensorBytes.piece;
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            float[] f = new float[300];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) r.nextGaussian();
            }
            NDArray fp32 = m.create(f, new Shape(3, 100));
            tensors.put("f32", fp32);
            tensors.put("bf16", Torch.copy(fp32, ScalarType.BFLOAT16));
            tensors.put("i64", m.create(new long[] {Long.MIN_VALUE, -1, 0, 7, Long.MAX_VALUE}));
            tensors.put("bool", m.create(new boolean[] {true, false, true}));
            tensors.put("empty", m.create(new float[0], new Shape(0, 4)));
            Path file = dir.resolve("t.safetensors");
            SafeTensorsWriter.write(file, tensors);
            TensorBytes.piece = 13; // several pieces per tensor, split mid-element
            try (SafeTensors st = SafeTensors.open(file);
                    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long dataStart = file.toFile().length() - st.tensors().values().stream().mapToLong(TensorInfo::byteSize).sum();
                for (String name : tensors.keySet()) {
                    TensorInfo t = st.info(name);
                    NDArray direct = TensorBytes.read(ch, dataStart + t.begin(), t.dtype(), t.shape(), m, false);
                    NDArray staged = TensorBytes.read(ch, dataStart + t.begin(), t.dtype(), t.shape(), m, true);
                    assertThat(Torch.dtype(staged)).as(name).isEqualTo(t.dtype());
                    assertThat(staged.getShape()).as(name).isEqualTo(new Shape(t.shape()));
                    assertThat(staged.getManager()).as(name).isSameAs(m);
                    assertThat(bits(staged)).as(name).isEqualTo(bits(direct));
                    assertThat(bits(staged)).as(name).isEqualTo(bits(tensors.get(name)));
                }
            }
        } finally {
            TensorBytes.piece = saved;
        }
    }

    @Test
    void rangeReadsReturnExactlyTheSlice() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] f = new float[50];
            for (int i = 0; i < f.length; i++) {
                f[i] = i * 0.5f - 3f;
            }
            Path file = dir.resolve("flat.safetensors");
            SafeTensorsWriter.write(file, Map.of("state", m.create(f, new Shape(5, 10))));
            try (SafeTensors st = SafeTensors.open(file)) {
                assertThat(st.loadRange("state", 7, 23, m).toFloatArray())
                        .containsExactly(java.util.Arrays.copyOfRange(f, 7, 23));
                assertThat(st.loadRange("state", 50, 50, m).getShape()).isEqualTo(new Shape(0));
                assertThatThrownBy(() -> st.loadRange("state", 40, 51, m)).isInstanceOf(WeightFormatException.class)
                        .hasMessageContaining("state").hasMessageContaining("[40, 51)");
            }
        }
    }

    private static byte[] bits(NDArray a) {
        NDArray carrier = Torch.dtype(a) == ScalarType.BFLOAT16 ? Torch.viewAs(a, ScalarType.FLOAT16) : a;
        java.nio.ByteBuffer b = carrier.toByteBuffer();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
