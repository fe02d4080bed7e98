package dev.merv.core.torch;

import static dev.merv.core.torch.Bridged.assertExactly;
import static dev.merv.core.torch.Bridged.assertSame;
import static dev.merv.core.torch.Bridged.normal;
import static dev.merv.core.torch.Bridged.run;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.merv.core.testing.Compare;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every op of {@link Torch} against a DJL-composed fp32 reference: values and gradients of a random
 * upstream gradient, on fresh random inputs each run. bf16 paths are pinned against fp32 computed on
 * the bf16-rounded inputs.
 */
class TorchOpsTest {

    /** fp32 bridge vs fp32 DJL composition: different kernels, same maths. */
    static final double ATOL = 2e-5;
    static final double RTOL = 2e-4;
    /** bf16 keeps 8 significant bits. */
    static final double BF16_REL = 1.0 / 128;

    static NDManager m;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    // ------------------------------------------------------------------------------------ SDPA

    private static NDArray attention(NDArray q, NDArray k, NDArray v, NDArray additive, double scale) {
        NDArray s = q.matMul(k.swapAxes(2, 3)).mul((float) scale);
        if (additive != null) {
            s = s.add(additive);
        }
        return s.softmax(-1).matMul(v);
    }

    private static NDArray causalAdditive(int t) {
        float[] v = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                v[i * t + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return m.create(v, new Shape(t, t));
    }

    /** K/V heads repeated so that query head h reads KV head h / (Hq / Hkv), as enable_gqa does. */
    private static NDArray repeatKv(NDArray kv, int groups) {
        Shape s = kv.getShape();
        return kv.expandDims(2).broadcast(new Shape(s.get(0), s.get(1), groups, s.get(2), s.get(3)))
                .reshape(s.get(0), s.get(1) * groups, s.get(2), s.get(3));
    }

    @Test
    void sdpaCausal() {
        Random r = Bridged.random("sdpaCausal");
        int b = 2, h = 3, t = 7, d = 8;
        NDArray q = normal(m, r, b, h, t, d), k = normal(m, r, b, h, t, d), v = normal(m, r, b, h, t, d);
        NDArray g = normal(m, r, b, h, t, d);
        NDArray causal = causalAdditive(t);
        var bridged = run(m, x -> Torch.sdpa(x[0], x[1], x[2], null, true), g, q, k, v);
        var ref = run(m, x -> attention(x[0], x[1], x[2], causal, 1 / Math.sqrt(d)), g, q, k, v);
        assertSame("causal sdpa", bridged, ref, ATOL, RTOL);
    }

    @Test
    void sdpaBoolMaskAndExplicitScaleWithUnequalLengths() {
        Random r = Bridged.random("sdpaBool");
        int b = 2, h = 2, tq = 5, tk = 9, d = 16;
        NDArray q = normal(m, r, b, h, tq, d), k = normal(m, r, b, h, tk, d), v = normal(m, r, b, h, tk, d);
        NDArray g = normal(m, r, b, h, tq, d);
        boolean[] keep = new boolean[b * tq * tk];
        float[] add = new float[keep.length];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = r.nextFloat() < 0.6f || i % tk == 0; // every row attends somewhere
            add[i] = keep[i] ? 0f : Float.NEGATIVE_INFINITY;
        }
        NDArray mask = m.create(keep, new Shape(b, 1, tq, tk));
        NDArray additive = m.create(add, new Shape(b, 1, tq, tk));
        var bridged = run(m, x -> Torch.sdpa(x[0], x[1], x[2], mask, false, 0.3, false), g, q, k, v);
        var ref = run(m, x -> attention(x[0], x[1], x[2], additive, 0.3), g, q, k, v);
        assertSame("bool-mask sdpa, scale 0.3", bridged, ref, ATOL, RTOL);
    }

    @Test
    void sdpaAdditiveMaskGetsItsGradientToo() {
        Random r = Bridged.random("sdpaAdd");
        int b = 1, h = 4, t = 6, d = 8;
        NDArray q = normal(m, r, b, h, t, d), k = normal(m, r, b, h, t, d), v = normal(m, r, b, h, t, d);
        NDArray bias = normal(m, r, 1, h, t, t);
        NDArray g = normal(m, r, b, h, t, d);
        var bridged = run(m, x -> Torch.sdpa(x[0], x[1], x[2], x[3], false), g, q, k, v, bias);
        var ref = run(m, x -> attention(x[0], x[1], x[2], x[3], 1 / Math.sqrt(d)), g, q, k, v, bias);
        assertSame("additive-mask sdpa", bridged, ref, ATOL, RTOL);
    }

    @Test
    void sdpaGroupedQueryHeads() {
        Random r = Bridged.random("sdpaGqa");
        int b = 2, hq = 6, hkv = 2, t = 5, d = 8;
        NDArray q = normal(m, r, b, hq, t, d), k = normal(m, r, b, hkv, t, d), v = normal(m, r, b, hkv, t, d);
        NDArray g = normal(m, r, b, hq, t, d);
        NDArray causal = causalAdditive(t);
        var bridged = run(m, x -> Torch.sdpa(x[0], x[1], x[2], null, true, null, true), g, q, k, v);
        var ref = run(m, x -> attention(x[0], repeatKv(x[1], hq / hkv), repeatKv(x[2], hq / hkv), causal,
                1 / Math.sqrt(d)), g, q, k, v);
        assertSame("GQA sdpa (6 query heads, 2 KV heads)", bridged, ref, ATOL, RTOL);
    }

    @Test
    void sdpaBf16IsPinnedToFp32OnRoundedInputs() {
        Random r = Bridged.random("sdpaBf16");
        int b = 1, h = 2, t = 8, d = 16;
        NDArray q = normal(m, r, b, h, t, d), k = normal(m, r, b, h, t, d), v = normal(m, r, b, h, t, d);
        NDArray qb = Torch.to(q, ScalarType.BFLOAT16), kb = Torch.to(k, ScalarType.BFLOAT16), vb = Torch.to(v, ScalarType.BFLOAT16);
        NDArray out = Torch.sdpa(qb, kb, vb, null, true);
        assertThat(Torch.dtype(out)).isEqualTo(ScalarType.BFLOAT16);
        NDArray ref = Torch.sdpa(Bridged.f32(qb), Bridged.f32(kb), Bridged.f32(vb), null, true);
        Compare.assertClose("bf16 sdpa vs fp32 (seed " + Bridged.SEED + ")", out, ref, 2e-2, 2 * BF16_REL);
    }

    // --------------------------------------------------------------------------- cross-entropy

    private static NDArray oneHot(long[] targets, int classes, long ignore) {
        float[] v = new float[targets.length * classes];
        for (int i = 0; i < targets.length; i++) {
            if (targets[i] != ignore) {
                v[i * classes + (int) targets[i]] = 1f;
            }
        }
        return m.create(v, new Shape(targets.length, classes));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Torch.Reduction.class)
    void crossEntropyWithIgnoredRows(Torch.Reduction reduction) {
        Random r = Bridged.random("ce" + reduction);
        int n = 9, c = 13;
        long ignore = reduction == Torch.Reduction.SUM ? 3 : -100; // a class id as ignore_index too
        long[] tg = new long[n];
        int kept = 0;
        for (int i = 0; i < n; i++) {
            tg[i] = i % 3 == 1 ? ignore : r.nextInt(c);
            if (tg[i] == ignore && ignore >= 0) {
                tg[i] = ignore;
            }
            kept += tg[i] == ignore ? 0 : 1;
        }
        NDArray logits = normal(m, r, n, c);
        NDArray target = m.create(tg);
        NDArray hot = oneHot(tg, c, ignore);
        int count = kept;
        NDArray g = reduction == Torch.Reduction.NONE ? normal(m, r, n) : null;
        var bridged = run(m, x -> Torch.crossEntropy(x[0], target, reduction, ignore), g, logits);
        var ref = run(m, x -> {
            NDArray perRow = x[0].logSoftmax(-1).mul(hot).sum(new int[] {-1}).neg();
            switch (reduction) {
                case NONE: return perRow;
                case SUM: return perRow.sum();
                default: return perRow.sum().div((float) count);
            }
        }, g, logits);
        assertSame("cross-entropy " + reduction, bridged, ref, ATOL, RTOL);
        float[] grad = bridged.grads().get(0);
        for (int i = 0; i < n; i++) {
            if (tg[i] == ignore) {
                for (int j = 0; j < c; j++) {
                    assertThat(grad[i * c + j]).as("grad of ignored row %d (seed %d)", i, Bridged.SEED).isZero();
                }
                if (reduction == Torch.Reduction.NONE) {
                    assertThat(bridged.value()[i]).as("loss of ignored row %d", i).isZero();
                }
            }
        }
    }

    @Test
    void crossEntropyOnBf16LogitsGivesBf16Loss() {
        Random r = Bridged.random("ceBf16");
        NDArray logits = Torch.to(normal(m, r, 6, 10), ScalarType.BFLOAT16);
        NDArray target = m.create(new long[] {1, -100, 3, 9, 0, -100});
        NDArray loss = Torch.crossEntropy(logits, target, Torch.Reduction.MEAN, -100);
        assertThat(Torch.dtype(loss)).isEqualTo(ScalarType.BFLOAT16);
        NDArray ref = Torch.crossEntropy(Bridged.f32(logits), target, Torch.Reduction.MEAN, -100);
        Compare.assertClose("bf16 cross-entropy", Bridged.f32(loss), ref, 1e-2, 2 * BF16_REL);
    }

    // ------------------------------------------------------------------------------ activations

    @Test
    void silu() {
        Random r = Bridged.random("silu");
        NDArray x = normal(m, r, 4, 33).mul(3);
        NDArray g = normal(m, r, 4, 33);
        assertSame("silu", run(m, a -> Torch.silu(a[0]), g, x),
                run(m, a -> a[0].mul(Activation.sigmoid(a[0])), g, x), ATOL, RTOL);
    }

    @Test
    void geluErf() {
        Random r = Bridged.random("gelu");
        NDArray x = normal(m, r, 4, 33).mul(3);
        NDArray g = normal(m, r, 4, 33);
        assertSame("gelu (erf)", run(m, a -> Torch.gelu(a[0]), g, x),
                run(m, a -> a[0].mul(a[0].div((float) Math.sqrt(2)).erf().add(1)).mul(0.5f), g, x), ATOL, RTOL);
    }

    @Test
    void geluTanh() {
        Random r = Bridged.random("geluTanh");
        NDArray x = normal(m, r, 4, 33).mul(3);
        NDArray g = normal(m, r, 4, 33);
        float[] xv = x.toFloatArray();
        float[] want = new float[xv.length];
        for (int i = 0; i < xv.length; i++) {
            double v = xv[i];
            want[i] = (float) (0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))));
        }
        var bridged = run(m, a -> Torch.geluTanh(a[0]), g, x);
        var ref = run(m, a -> a[0].pow(3).mul(0.044715f).add(a[0]).mul((float) Math.sqrt(2 / Math.PI)).tanh().add(1)
                .mul(a[0]).mul(0.5f), g, x);
        assertSame("gelu (tanh)", bridged, ref, ATOL, RTOL);
        Compare.assertClose("gelu (tanh) vs double maths", bridged.value(), want, bridged.shape(), 1e-5, 1e-5);
        long before = m.getManagedArrays().size();
        Torch.geluTanh(x).close();
        assertThat(m.getManagedArrays().size()).as("geluTanh leaves no temporaries in the manager").isEqualTo(before);
    }

    @Test
    void softmaxAndLogSoftmaxFp32() {
        Random r = Bridged.random("softmax");
        NDArray x = normal(m, r, 3, 5, 17).mul(4);
        NDArray g = normal(m, r, 3, 5, 17);
        assertSame("softmax", run(m, a -> Torch.softmax(a[0], -1), g, x), run(m, a -> a[0].softmax(-1), g, x), ATOL, RTOL);
        assertSame("softmax axis 1", run(m, a -> Torch.softmax(a[0], 1), g, x), run(m, a -> a[0].softmax(1), g, x), ATOL, RTOL);
        assertSame("logSoftmax", run(m, a -> Torch.logSoftmax(a[0], -1, null), g, x),
                run(m, a -> a[0].logSoftmax(-1), g, x), ATOL, RTOL);
    }

    @Test
    void softmaxAndLogSoftmaxOnBf16() {
        Random r = Bridged.random("softmaxBf16");
        NDArray x = Torch.to(normal(m, r, 4, 19).mul(3), ScalarType.BFLOAT16);
        NDArray xf = Bridged.f32(x);
        NDArray g = Torch.to(normal(m, r, 4, 19), ScalarType.BFLOAT16);
        var sm = run(m, a -> Torch.softmax(a[0], -1), g, x);
        var lsm = run(m, a -> Torch.logSoftmax(a[0], -1, null), g, x);
        assertThat(sm.dtype()).isEqualTo(ScalarType.BFLOAT16);
        assertThat(lsm.dtype()).isEqualTo(ScalarType.BFLOAT16);
        assertThat(sm.gradTypes().get(0)).as("gradient of a bf16 leaf is bf16").isEqualTo(ScalarType.BFLOAT16);
        NDArray gf = Bridged.f32(g);
        assertSame("bf16 softmax", sm, run(m, a -> a[0].softmax(-1), gf, xf), 4e-3, 2 * BF16_REL);
        assertSame("bf16 logSoftmax", lsm, run(m, a -> a[0].logSoftmax(-1), gf, xf), 3e-2, 2 * BF16_REL);
        // an fp32 accumulate dtype returns fp32 and equals the fp32 softmax of the rounded input
        NDArray acc = Torch.softmax(x, -1, ScalarType.FLOAT32);
        assertThat(Torch.dtype(acc)).isEqualTo(ScalarType.FLOAT32);
        Compare.assertClose("bf16 softmax accumulated in fp32", acc, xf.softmax(-1), 1e-6, 1e-5);
        NDArray lacc = Torch.logSoftmax(x, -1, ScalarType.FLOAT32);
        Compare.assertClose("bf16 logSoftmax accumulated in fp32", lacc, xf.logSoftmax(-1), 1e-5, 1e-5);
    }

    // ----------------------------------------------------------------------------------- casts

    @Test
    void castFp32ToBf16AndBackIsRoundToNearestEvenAndDifferentiable() {
        Random r = Bridged.random("castBf16");
        NDArray x = normal(m, r, 5, 31).mul(100);
        NDArray g = normal(m, r, 5, 31);
        var run = run(m, a -> Torch.to(Torch.to(a[0], ScalarType.BFLOAT16), ScalarType.FLOAT32), g, x);
        assertExactly("fp32 -> bf16 -> fp32", run.value(), Bridged.bf16(x.toFloatArray()));
        // the cast's backward casts the gradient: bf16-rounded upstream gradient
        assertExactly("gradient through the bf16 round trip", run.grads().get(0), Bridged.bf16(g.toFloatArray()));
        assertExactly("_to_copy equals to.dtype", Torch.toFloatArray(Torch.copy(x, ScalarType.BFLOAT16)),
                Bridged.bf16(x.toFloatArray()));
    }

    @Test
    void castFp32ToFp16AndBackMatchesDjlAndIsDifferentiable() {
        Random r = Bridged.random("castF16");
        NDArray x = normal(m, r, 5, 31).mul(100);
        NDArray g = normal(m, r, 5, 31);
        var run = run(m, a -> Torch.to(Torch.to(a[0], ScalarType.FLOAT16), ScalarType.FLOAT32), g, x);
        assertExactly("fp32 -> fp16 -> fp32", run.value(), x.toType(DataType.FLOAT16, true).toType(DataType.FLOAT32, true).toFloatArray());
        assertExactly("gradient through the fp16 round trip", run.grads().get(0),
                g.toType(DataType.FLOAT16, true).toType(DataType.FLOAT32, true).toFloatArray());
        assertThat(Torch.dtype(Torch.copy(x, ScalarType.FLOAT16))).isEqualTo(ScalarType.FLOAT16);
    }

    @Test
    void castBetweenBf16AndFp16IsDifferentiable() {
        Random r = Bridged.random("castHalf");
        NDArray x = Torch.to(normal(m, r, 3, 11), ScalarType.BFLOAT16);
        NDArray h = Torch.to(x, ScalarType.FLOAT16);
        assertThat(Torch.dtype(h)).isEqualTo(ScalarType.FLOAT16);
        // every bf16 value of moderate size fits fp16's 11-bit significand exactly
        assertExactly("bf16 -> fp16", h.toType(DataType.FLOAT32, true).toFloatArray(), Torch.toFloatArray(x));
        NDArray g = Torch.to(normal(m, r, 3, 11), ScalarType.BFLOAT16);
        var run = run(m, a -> Torch.to(Torch.to(a[0], ScalarType.FLOAT16), ScalarType.BFLOAT16), g, x);
        assertThat(run.gradTypes().get(0)).isEqualTo(ScalarType.BFLOAT16);
        assertExactly("gradient through bf16 -> fp16 -> bf16", run.grads().get(0), Torch.toFloatArray(g));
        // to() the same dtype returns an alias of the same storage (aten::to), copy() always new storage
        NDArray same = Torch.to(x, ScalarType.BFLOAT16);
        assertThat(Torch.dataPointer(same)).as("to() the same dtype aliases its input").isEqualTo(Torch.dataPointer(x));
        assertThat(Torch.dataPointer(Torch.copy(x, ScalarType.BFLOAT16))).as("copy() allocates")
                .isNotEqualTo(Torch.dataPointer(x));
    }

    @Test
    void viewAsFp16BitsAsBf16IsBitExact() {
        Random r = Bridged.random("viewAs");
        int n = 257;
        short[] bits = new short[n];
        float[] expected = new float[n];
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(2 * n).order(java.nio.ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            int b;
            do {
                b = r.nextInt(1 << 16);
            } while (((b >>> 7) & 0xFF) == 0xFF); // no inf/NaN patterns: their payloads are not values
            bits[i] = (short) b;
            buf.putShort((short) b);
            expected[i] = Float.intBitsToFloat(b << 16);
        }
        buf.flip();
        NDArray half = m.create(buf, new Shape(n), DataType.FLOAT16);
        NDArray bf = Torch.viewAs(half, ScalarType.BFLOAT16);
        assertThat(Torch.dtype(bf)).isEqualTo(ScalarType.BFLOAT16);
        assertExactly("fp16 bytes viewed as bf16", Torch.toFloatArray(bf), expected);
        java.nio.ByteBuffer back = Torch.viewAs(bf, ScalarType.FLOAT16).toByteBuffer().order(java.nio.ByteOrder.nativeOrder());
        for (int i = 0; i < n; i++) {
            assertThat(back.getShort(2 * i)).as("bits of element %d after viewing back", i).isEqualTo(bits[i]);
        }
    }

    // ------------------------------------------------------------------------- elementwise, bf16

    @Test
    void zerosLikeAndRsqrtOnBf16() {
        Random r = Bridged.random("bf16misc");
        NDArray x = Torch.to(Bridged.uniform(m, r, 0.01f, 50f, 6, 7), ScalarType.BFLOAT16);
        NDArray z = Torch.zerosLike(x);
        assertThat(Torch.dtype(z)).isEqualTo(ScalarType.BFLOAT16);
        assertThat(z.getShape()).isEqualTo(x.getShape());
        assertThat(Torch.toFloatArray(z)).containsOnly(0f);
        NDArray rs = Torch.rsqrt(x);
        assertThat(Torch.dtype(rs)).isEqualTo(ScalarType.BFLOAT16);
        float[] xv = Torch.toFloatArray(x);
        float[] want = new float[xv.length];
        for (int i = 0; i < xv.length; i++) {
            want[i] = (float) (1 / Math.sqrt(xv[i]));
        }
        Compare.assertClose("bf16 rsqrt vs double maths", Torch.toFloatArray(rs), want, new long[] {want.length}, 0, BF16_REL);
    }

    @Test
    void rsqrtErfTanhSigmoid() {
        Random r = Bridged.random("unary");
        NDArray pos = Bridged.uniform(m, r, 0.2f, 9f, 3, 21);
        NDArray x = normal(m, r, 3, 21).mul(2);
        NDArray g = normal(m, r, 3, 21);
        assertSame("rsqrt", run(m, a -> Torch.rsqrt(a[0]), g, pos), run(m, a -> a[0].sqrt().pow(-1), g, pos), ATOL, RTOL);
        assertSame("erf", run(m, a -> Torch.erf(a[0]), g, x), run(m, a -> a[0].erf(), g, x), ATOL, RTOL);
        assertSame("tanh", run(m, a -> Torch.tanh(a[0]), g, x), run(m, a -> a[0].tanh(), g, x), ATOL, RTOL);
        assertSame("sigmoid", run(m, a -> Torch.sigmoid(a[0]), g, x), run(m, a -> Activation.sigmoid(a[0]), g, x), ATOL, RTOL);
    }

    // ------------------------------------------------------------------------------- linear algebra

    @Test
    void matmulMulLinear() {
        Random r = Bridged.random("linalg");
        NDArray a = normal(m, r, 2, 5, 7), b = normal(m, r, 7, 3), w = normal(m, r, 4, 7), bias = normal(m, r, 4);
        NDArray g = normal(m, r, 2, 5, 3);
        assertSame("matmul", run(m, x -> Torch.matmul(x[0], x[1]), g, a, b), run(m, x -> x[0].matMul(x[1]), g, a, b), ATOL, RTOL);
        NDArray c = normal(m, r, 5, 1);
        NDArray gm = normal(m, r, 2, 5, 7);
        assertSame("mul (broadcast)", run(m, x -> Torch.mul(x[0], x[1]), gm, a, c), run(m, x -> x[0].mul(x[1]), gm, a, c), ATOL, RTOL);
        NDArray gl = normal(m, r, 2, 5, 4);
        assertSame("linear with bias", run(m, x -> Torch.linear(x[0], x[1], x[2]), gl, a, w, bias),
                run(m, x -> x[0].matMul(x[1].transpose()).add(x[2]), gl, a, w, bias), ATOL, RTOL);
        assertSame("linear without bias", run(m, x -> Torch.linear(x[0], x[1], null), gl, a, w),
                run(m, x -> x[0].matMul(x[1].transpose()), gl, a, w), ATOL, RTOL);
        NDArray ab = Torch.to(a, ScalarType.BFLOAT16), bb = Torch.to(b, ScalarType.BFLOAT16);
        NDArray pb = Torch.matmul(ab, bb);
        assertThat(Torch.dtype(pb)).isEqualTo(ScalarType.BFLOAT16);
        Compare.assertClose("bf16 matmul", Bridged.f32(pb), Bridged.f32(ab).matMul(Bridged.f32(bb)), 3e-2, 2 * BF16_REL);
    }

    /** Row gathers as one-hot matmuls: an independent reference with exact gradients. */
    @Test
    void embeddingAndIndexSelect() {
        Random r = Bridged.random("gather");
        int vocab = 11, dim = 6;
        long[] ids = {3, 0, 10, 3, 7, 7, 1};
        NDArray table = normal(m, r, vocab, dim);
        NDArray idx = m.create(ids);
        NDArray hot = oneHot(ids, vocab, -1);
        NDArray g = normal(m, r, ids.length, dim);
        assertSame("embedding", run(m, x -> Torch.embedding(x[0], idx), g, table),
                run(m, x -> hot.matMul(x[0]), g, table), ATOL, RTOL);
        assertSame("indexSelect axis 0", run(m, x -> Torch.indexSelect(x[0], 0, idx), g, table),
                run(m, x -> hot.matMul(x[0]), g, table), ATOL, RTOL);
        NDArray gt = normal(m, r, dim, ids.length);
        assertSame("indexSelect axis 1", run(m, x -> Torch.indexSelect(x[0], 1, idx), gt, table.transpose()),
                run(m, x -> x[0].matMul(hot.transpose()), gt, table.transpose()), ATOL, RTOL);
        NDArray eb = Torch.embedding(Torch.to(table, ScalarType.BFLOAT16), idx);
        assertThat(Torch.dtype(eb)).isEqualTo(ScalarType.BFLOAT16);
        assertExactly("bf16 embedding", Torch.toFloatArray(eb), Bridged.bf16(hot.matMul(table).toFloatArray()));
    }

    @Test
    void maskedFill() {
        Random r = Bridged.random("maskedFill");
        NDArray x = normal(m, r, 4, 9);
        boolean[] mk = new boolean[9];
        float[] keep = new float[9];
        for (int i = 0; i < 9; i++) {
            mk[i] = r.nextBoolean();
            keep[i] = mk[i] ? 0f : 1f;
        }
        NDArray mask = m.create(mk, new Shape(1, 9));
        NDArray keepF = m.create(keep, new Shape(1, 9));
        NDArray value = m.create(-7.5f);
        NDArray g = normal(m, r, 4, 9);
        assertSame("maskedFill", run(m, a -> Torch.maskedFill(a[0], mask, value), g, x),
                run(m, a -> a[0].mul(keepF).add(keepF.neg().add(1).mul(-7.5f)), g, x), 0, 0);
    }

    /** The package javadoc sends list/Scalar/str cases to these DJL ops on bf16: they must stay bf16 and correct. */
    @Test
    void djlDtypeFreeOpsTheJavadocRecommendsRunOnBf16() {
        Random r = Bridged.random("djlOnBf16");
        NDArray xf = Bridged.f32(Torch.to(normal(m, r, 2, 3, 4), ScalarType.BFLOAT16));
        NDArray yf = Bridged.f32(Torch.to(normal(m, r, 2, 3, 4), ScalarType.BFLOAT16));
        NDArray x = Torch.to(xf, ScalarType.BFLOAT16);
        NDArray y = Torch.to(yf, ScalarType.BFLOAT16);
        java.util.Map<String, NDArray[]> cases = new java.util.LinkedHashMap<>();
        cases.put("add", new NDArray[] {x.add(y), xf.add(yf)});
        cases.put("sub", new NDArray[] {x.sub(y), xf.sub(yf)});
        cases.put("add(Number)", new NDArray[] {x.add(1.5f), xf.add(1.5f)});
        cases.put("mul(Number)", new NDArray[] {x.mul(3f), xf.mul(3f)});
        cases.put("pow(Number)", new NDArray[] {x.pow(2f), xf.pow(2f)});
        cases.put("clip", new NDArray[] {x.clip(-0.5f, 0.5f), xf.clip(-0.5f, 0.5f)});
        cases.put("reshape", new NDArray[] {x.reshape(6, 4), xf.reshape(6, 4)});
        cases.put("transpose", new NDArray[] {x.transpose(2, 0, 1), xf.transpose(2, 0, 1)});
        cases.put("sum(dims)", new NDArray[] {x.sum(new int[] {-1}), xf.sum(new int[] {-1})});
        cases.put("mean(dims)", new NDArray[] {x.mean(new int[] {-1}, true), xf.mean(new int[] {-1}, true)});
        cases.put("concat", new NDArray[] {x.concat(y, 1), xf.concat(yf, 1)});
        cases.put("gelu", new NDArray[] {Torch.gelu(x), Torch.gelu(xf)});
        cases.put("geluTanh", new NDArray[] {Torch.geluTanh(x), Torch.geluTanh(xf)});
        for (var e : cases.entrySet()) {
            assertThat(Torch.dtype(e.getValue()[0])).as("%s keeps bf16", e.getKey()).isEqualTo(ScalarType.BFLOAT16);
            Compare.assertClose(e.getKey() + " on bf16 (seed " + Bridged.SEED + ")", Bridged.f32(e.getValue()[0]),
                    e.getValue()[1], 2e-2, 2 * BF16_REL);
        }
    }

    @Test
    void dtypeQueryReportsWhatDjlCannot() {
        assertThat(Torch.dtype(m.create(new float[] {1}))).isEqualTo(ScalarType.FLOAT32);
        assertThat(Torch.dtype(m.create(new double[] {1}))).isEqualTo(ScalarType.FLOAT64);
        assertThat(Torch.dtype(m.create(new long[] {1}))).isEqualTo(ScalarType.INT64);
        assertThat(Torch.dtype(m.create(new int[] {1}))).isEqualTo(ScalarType.INT32);
        assertThat(Torch.dtype(m.create(new byte[] {1}))).isEqualTo(ScalarType.INT8);
        assertThat(Torch.dtype(m.create(new boolean[] {true}))).isEqualTo(ScalarType.BOOL);
        assertThat(Torch.dtype(m.create(new float[] {1}).toType(DataType.UINT8, true))).isEqualTo(ScalarType.UINT8);
        assertThat(Torch.dtype(m.create(new float[] {1}).toType(DataType.FLOAT16, true))).isEqualTo(ScalarType.FLOAT16);
        NDArray bf = Torch.to(m.create(new float[] {1}), ScalarType.BFLOAT16);
        assertThat(Torch.dtype(bf)).isEqualTo(ScalarType.BFLOAT16);
        assertThat(bf.getDataType()).as("DJL still cannot name bf16").isEqualTo(DataType.UNKNOWN);
        NDArray i16 = Torch.to(m.create(new float[] {1}), ScalarType.INT16);
        assertThat(Torch.dtype(i16)).isEqualTo(ScalarType.INT16);
        assertThat(ScalarType.BFLOAT16.djlSafe()).isFalse();
        assertThat(ScalarType.INT16.djlSafe()).isFalse();
        assertThat(ScalarType.FLOAT16.djlSafe()).isTrue();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Torch.requireDjlSafe(bf, "softmax"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("softmax").hasMessageContaining("BFLOAT16");
    }

    @SuppressWarnings("try") // the scope only switches grad mode
    @Test
    void gradModeScopesAreThreadLocalAndRestore() throws Exception {
        boolean before = Torch.gradEnabled();
        try (Torch.GradMode on = Torch.withGrad()) {
            assertThat(Torch.gradEnabled()).isTrue();
            try (Torch.GradMode off = Torch.noGrad()) {
                assertThat(Torch.gradEnabled()).isFalse();
                boolean[] other = new boolean[1];
                Thread t = new Thread(() -> other[0] = Torch.gradEnabled());
                t.start();
                t.join();
                assertThat(other[0]).as("a fresh thread has libtorch's default (grad on)").isTrue();
            }
            assertThat(Torch.gradEnabled()).isTrue();
        }
        assertThat(Torch.gradEnabled()).isEqualTo(before);
    }

    @Test
    void structural() {
        Random r = Bridged.random("structural");
        NDArray x = normal(m, r, 3, 4, 5);
        NDArray g = normal(m, r, 5, 4, 3);
        assertSame("transpose", run(m, a -> Torch.transpose(a[0], 0, 2), g, x),
                run(m, a -> a[0].swapAxes(0, 2), g, x), 0, 0);
        NDArray g2 = normal(m, r, 3, 4, 5);
        var cl = run(m, a -> Torch.clone(a[0]), g2, x);
        assertExactly("clone value", cl.value(), x.toFloatArray());
        assertExactly("clone gradient", cl.grads().get(0), g2.toFloatArray());
        NDArray dst = m.zeros(new Shape(3, 4, 5));
        Torch.copyInto(dst, Torch.to(x, ScalarType.BFLOAT16));
        assertExactly("copyInto casts bf16 into fp32", dst.toFloatArray(), Bridged.bf16(x.toFloatArray()));
        try (NDManager other = m.newSubManager()) {
            NDArray moved = Torch.toDevice(x, other, ScalarType.BFLOAT16);
            assertThat(moved.getManager()).isSameAs(other);
            assertThat(Torch.dtype(moved)).isEqualTo(ScalarType.BFLOAT16);
            assertExactly("toDevice(cpu, bf16)", Torch.toFloatArray(moved), Bridged.bf16(x.toFloatArray()));
            NDArray same = Torch.toDevice(x, x.getDevice(), ScalarType.FLOAT16);
            assertThat(Torch.dtype(same)).isEqualTo(ScalarType.FLOAT16);
        }
    }
}
