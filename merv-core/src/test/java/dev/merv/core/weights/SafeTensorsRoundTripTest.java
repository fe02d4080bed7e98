package dev.merv.core.weights;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writer -> reader round trips, bit-exact, for every dtype merv stores; and interop with DJL's own parser. */
class SafeTensorsRoundTripTest {

    static final long SEED = Long.getLong("merv.test.seed", System.nanoTime());
    static NDManager m;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    private static byte[] bytes(NDArray a) {
        ByteBuffer b = a.toByteBuffer().order(ByteOrder.nativeOrder());
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static NDArray raw(ScalarType t, Random r, long... shape) {
        int n = Math.toIntExact(new Shape(shape).size());
        ByteBuffer b = ByteBuffer.allocateDirect(n * t.bytes()).order(ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            switch (t) {
                case FLOAT32: b.putFloat((float) r.nextGaussian()); break;
                case FLOAT64: b.putDouble(r.nextGaussian()); break;
                case INT64: b.putLong(r.nextLong()); break;
                case INT32: b.putInt(r.nextInt()); break;
                case UINT8: case INT8: b.put((byte) r.nextInt(256)); break;
                case BOOL: b.put((byte) (r.nextBoolean() ? 1 : 0)); break;
                case FLOAT16: b.putShort((short) (r.nextInt(0x7800) | (r.nextBoolean() ? 0x8000 : 0))); break;
                default: throw new IllegalArgumentException(t.toString());
            }
        }
        b.flip();
        return m.create(b, new Shape(shape), t.djl());
    }

    @Test
    void everyDtypeRoundTripsBitExact() throws Exception {
        Random r = new Random(SEED);
        Map<String, NDArray> in = new LinkedHashMap<>();
        in.put("f32", raw(ScalarType.FLOAT32, r, 3, 4));
        in.put("f16", raw(ScalarType.FLOAT16, r, 5, 2));
        in.put("bf16", Torch.to(raw(ScalarType.FLOAT32, r, 2, 3, 4), ScalarType.BFLOAT16));
        in.put("i64", raw(ScalarType.INT64, r, 7));
        in.put("i32", raw(ScalarType.INT32, r, 2, 2));
        in.put("u8", raw(ScalarType.UINT8, r, 9));
        in.put("bool", raw(ScalarType.BOOL, r, 3, 3));
        in.put("f64", raw(ScalarType.FLOAT64, r, 2));
        in.put("i8", raw(ScalarType.INT8, r, 4));
        in.put("i16", Torch.to(raw(ScalarType.INT32, r, 6), ScalarType.INT16));
        in.put("scalar", m.create(3.5f));
        in.put("empty", m.zeros(new Shape(0, 3)));
        in.put("transposed", raw(ScalarType.FLOAT32, r, 3, 5).transpose());
        Path f = dir.resolve("all.safetensors");
        SafeTensorsWriter.write(f, in, Map.of("format", "pt", "writer", "merv"));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.names()).containsExactlyInAnyOrderElementsOf(in.keySet());
            assertThat(st.metadata()).containsEntry("format", "pt").containsEntry("writer", "merv");
            assertThat(st.info("bf16").dtypeName()).isEqualTo("BF16");
            assertThat(st.info("i16").dtypeName()).isEqualTo("I16");
            assertThat(st.info("bool").dtypeName()).isEqualTo("BOOL");
            assertThat(st.info("u8").dtypeName()).isEqualTo("U8");
            for (Map.Entry<String, NDArray> e : in.entrySet()) {
                NDArray want = e.getValue();
                NDArray got = st.load(e.getKey(), m);
                String what = e.getKey() + " (seed " + SEED + ")";
                assertThat(Torch.dtype(got)).as(what).isEqualTo(Torch.dtype(want));
                assertThat(got.getShape()).as(what).isEqualTo(want.getShape());
                assertThat(got.getManager()).as(what).isSameAs(m);
                if (!want.isEmpty()) {
                    assertThat(bytes(got)).as(what).isEqualTo(bytes(want));
                }
            }
            // conversion on load: stored bf16 -> fp32 is exact, fp32 -> bf16 rounds like the bridge
            NDArray bf16AsF32 = st.load("bf16", m, ScalarType.FLOAT32);
            assertThat(Torch.dtype(bf16AsF32)).isEqualTo(ScalarType.FLOAT32);
            assertThat(bf16AsF32.toFloatArray()).containsExactly(Torch.toFloatArray(in.get("bf16")));
            NDArray f32AsBf16 = st.load("f32", m, ScalarType.BFLOAT16);
            assertThat(bytes(f32AsBf16)).isEqualTo(bytes(Torch.to(in.get("f32"), ScalarType.BFLOAT16)));
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).as("no temporary file left").containsExactly("all.safetensors");
        }
    }

    @Test
    void djlsOwnParserReadsWhatWeWrite() throws Exception {
        Random r = new Random(SEED);
        Map<String, NDArray> in = new LinkedHashMap<>();
        in.put("a", raw(ScalarType.FLOAT32, r, 2, 3));
        in.put("b", raw(ScalarType.INT64, r, 4));
        Path f = dir.resolve("djl.safetensors");
        SafeTensorsWriter.write(f, in);
        NDList decoded = NDList.decode(m, Files.readAllBytes(f));
        assertThat(decoded).hasSize(2);
        for (NDArray d : decoded) {
            NDArray want = in.get(d.getName());
            assertThat(want).as("tensor %s", d.getName()).isNotNull();
            assertThat(d.getDataType()).isEqualTo(want.getDataType());
            assertThat(bytes(d)).isEqualTo(bytes(want));
        }
    }

    @Test
    void writerReplacesAnExistingFileAtomically() throws Exception {
        Path f = dir.resolve("ckpt.safetensors");
        SafeTensorsWriter.write(f, Map.of("x", m.create(new float[] {1, 2})));
        SafeTensorsWriter.write(f, Map.of("y", m.create(new float[] {3, 4, 5})));
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.names()).containsExactly("y");
            assertThat(st.load("y", m).toFloatArray()).containsExactly(3, 4, 5);
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.count()).isEqualTo(1);
        }
    }

    @Test
    void loadedTensorsDoNotAliasTheMapping() throws Exception {
        Path f = dir.resolve("alias.safetensors");
        SafeTensorsWriter.write(f, Map.of("x", m.create(new float[] {1, 2, 3})));
        NDArray x;
        try (SafeTensors st = SafeTensors.open(f)) {
            x = st.load("x", m);
        }
        Files.delete(f);
        SafeTensorsWriter.write(f, Map.of("x", m.create(new float[] {7, 8, 9})));
        assertThat(x.toFloatArray()).containsExactly(1, 2, 3);
        assertThat(x.getDataType()).isEqualTo(DataType.FLOAT32);
    }
}
