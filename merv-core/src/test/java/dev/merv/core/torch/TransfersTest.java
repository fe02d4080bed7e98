package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Host tensors and uploads on the CPU (the GPU kit checks them on a GPU): shapes, dtypes and values as
 * DJL's own {@code create} gives them, bf16 rounded on the host exactly as libtorch's cast rounds, and the
 * ownership of the result.
 */
class TransfersTest {

    @Test
    void uploadsGiveWhatDjlCreateGives() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray ids = Transfers.upload(new long[] {3, -1, 7, 0, 1L << 40, 5}, new Shape(2, 3), m);
            assertThat(ids.getDataType()).isEqualTo(DataType.INT64);
            assertThat(ids.getShape()).isEqualTo(new Shape(2, 3));
            assertThat(ids.toLongArray()).containsExactly(3, -1, 7, 0, 1L << 40, 5);
            assertThat(ids.getManager()).isSameAs(m);
            NDArray mask = Transfers.upload(new boolean[] {true, false, true}, new Shape(1, 3), m);
            assertThat(mask.getDataType()).isEqualTo(DataType.BOOLEAN);
            assertThat(mask.toBooleanArray()).containsExactly(true, false, true);
            NDArray f = Transfers.upload(new float[] {1.5f, -2f}, new Shape(2), ScalarType.FLOAT32, m);
            assertThat(f.toFloatArray()).containsExactly(1.5f, -2f);
            assertThatThrownBy(() -> Transfers.upload(new long[3], new Shape(2, 2), m))
                    .hasMessageContaining("do not fill shape (2, 2)");
        }
    }

    @Test
    void bf16UploadsRoundOnTheHostAsLibtorchCasts() {
        Random r = new Random(3);
        float[] v = new float[4096];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.intBitsToFloat(r.nextInt()); // every exponent, ties, subnormals, infinities, NaNs
        }
        v[0] = 1f + 1f / 256; // an exact tie: rounds to even
        v[1] = 1f + 3f / 256;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray up = Transfers.upload(v, new Shape(64, 64), ScalarType.BFLOAT16, m);
            assertThat(Torch.dtype(up)).isEqualTo(ScalarType.BFLOAT16);
            assertThat(up.getShape()).isEqualTo(new Shape(64, 64));
            NDArray cast = Torch.copy(m.create(v, new Shape(64, 64)), ScalarType.BFLOAT16);
            short[] a = bits(up);
            short[] b = bits(cast);
            for (int i = 0; i < a.length; i++) {
                if (Float.isNaN(v[i])) {
                    assertThat(a[i] & 0x7F80).as("NaN %d", i).isEqualTo(0x7F80);
                    assertThat(a[i] & 0x7F).as("NaN %d", i).isNotZero();
                } else {
                    assertThat(a[i]).as("value %d (%s)", i, v[i]).isEqualTo(b[i]);
                }
            }
            assertThat(Transfers.bf16Bits(v[0])).isEqualTo((short) 0x3F80);
            assertThat(Transfers.bf16Bits(v[1])).isEqualTo((short) 0x3F82);
        }
    }

    @Test
    void hostTensorsAreCpuContiguousAndRefuseOtherManagers() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray h = Transfers.emptyHost(m, ScalarType.BFLOAT16, 3, 5);
            assertThat(Torch.dtype(h)).isEqualTo(ScalarType.BFLOAT16);
            assertThat(h.getShape()).isEqualTo(new Shape(3, 5));
            assertThat(Torch.dataPointer(h)).isNotZero();
            NDArray moved = Transfers.upload(h, m);
            assertThat(moved).isSameAs(h);
        }
    }

    private static short[] bits(NDArray bf16) {
        try (NDArray c = Torch.viewAs(bf16, ScalarType.FLOAT16)) {
            java.nio.ByteBuffer b = c.toByteBuffer().order(java.nio.ByteOrder.nativeOrder());
            short[] out = new short[b.remaining() / 2];
            b.asShortBuffer().get(out);
            return out;
        }
    }
}
