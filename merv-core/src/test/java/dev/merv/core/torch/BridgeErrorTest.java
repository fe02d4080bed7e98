package dev.merv.core.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every way a bridged call can be wrong ends in a {@link BridgeException} that names the op and the
 * reason, never in a JVM crash; after each one the bridge still works.
 */
class BridgeErrorTest {

    static NDManager m;
    NDArray x;

    @BeforeAll
    static void open() {
        m = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        m.close();
    }

    @AfterEach
    void bridgeStillWorks() {
        NDArray y = Torch.silu(m.create(new float[] {0f, 1f}));
        assertThat(y.toFloatArray()[1]).isCloseTo(0.7310586f, org.assertj.core.data.Offset.offset(1e-6f));
    }

    private NDArray x() {
        return m.randomNormal(new Shape(2, 3));
    }

    @Test
    void unknownOp() {
        Op op = Op.of("aten::no_such_op(Tensor self) -> Tensor");
        assertThatThrownBy(() -> op.call(x()))
                .isInstanceOf(BridgeException.class)
                .hasMessageStartingWith("aten::no_such_op")
                .hasMessageContaining("libtorch rejected")
                .satisfies(e -> assertThat(((BridgeException) e).op()).isEqualTo("aten::no_such_op"));
    }

    @Test
    void tooManyArguments() {
        Op silu = Op.of("aten::silu(Tensor self) -> Tensor");
        assertThatThrownBy(() -> silu.call(x(), x()))
                .isInstanceOf(BridgeException.class)
                .hasMessageStartingWith("aten::silu")
                .hasMessageContaining("takes 1 arguments, got 2");
    }

    @Test
    void missingArgumentWithoutDefault() {
        Op sel = Op.of("aten::index_select(Tensor self, int dim, Tensor index) -> Tensor");
        assertThatThrownBy(() -> sel.call(x(), 0L))
                .isInstanceOf(BridgeException.class)
                .hasMessageStartingWith("aten::index_select")
                .hasMessageContaining("argument 2 'index' has no default");
        // a symbolic default (reduction=Mean) is not guessed either
        Op ce = Op.of("aten::cross_entropy_loss(Tensor self, Tensor target, Tensor? weight=None,"
                + " int reduction=Mean, SymInt ignore_index=-100, float label_smoothing=0.0) -> Tensor");
        assertThatThrownBy(() -> ce.call(x(), m.create(new long[] {0, 1})))
                .isInstanceOf(BridgeException.class)
                .hasMessageContaining("'reduction' has no default");
    }

    @Test
    void wrongArgumentKinds() {
        Op sel = Op.of("aten::index_select(Tensor self, int dim, Tensor index) -> Tensor");
        NDArray idx = m.create(new long[] {0});
        assertThatThrownBy(() -> sel.call(x(), 0.5, idx))
                .isInstanceOf(BridgeException.class)
                .hasMessageContaining("aten::index_select: argument 1 'dim' (int) needs an integer, got Double");
        assertThatThrownBy(() -> sel.call(x(), 0L, 3L))
                .isInstanceOf(BridgeException.class)
                .hasMessageContaining("argument 2 'index' (tensor) needs a PyTorch NDArray, got Long");
        Op sdpa = Op.of("aten::scaled_dot_product_attention(Tensor query, Tensor key, Tensor value,"
                + " Tensor? attn_mask=None, float dropout_p=0.0, bool is_causal=False, *, float? scale=None,"
                + " bool enable_gqa=False) -> Tensor");
        NDArray q = m.randomNormal(new Shape(1, 1, 2, 4));
        assertThatThrownBy(() -> sdpa.call(q, q, q, null, 0.0, "yes"))
                .isInstanceOf(BridgeException.class)
                .hasMessageContaining("argument 5 'is_causal' (bool) needs a boolean, got String");
        assertThatThrownBy(() -> sdpa.call(q, null, q))
                .isInstanceOf(BridgeException.class)
                .hasMessageContaining("argument 1 'key' is not optional and got null");
        assertThatThrownBy(() -> sdpa.call(q, q, q, null, 0.0, false, "0.3"))
                .isInstanceOf(BridgeException.class)
                .hasMessageContaining("'scale' (float?) needs a number");
    }

    @Test
    void argumentKindsThe27EntryPointCannotPassAreRefusedAtDeclaration() {
        assertThatThrownBy(() -> Op.of("aten::rms_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None,"
                + " float? eps=None) -> Tensor"))
                .isInstanceOf(BridgeException.class)
                .hasMessageStartingWith("aten::rms_norm")
                .hasMessageContaining("'normalized_shape' of kind SymInt[]");
        assertThatThrownBy(() -> Op.of("aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor"))
                .isInstanceOf(BridgeException.class).hasMessageContaining("'alpha' of kind Scalar");
        assertThatThrownBy(() -> Op.of("aten::gelu(Tensor self, *, str approximate='none') -> Tensor"))
                .isInstanceOf(BridgeException.class).hasMessageContaining("'approximate' of kind str");
        assertThatThrownBy(() -> Op.of("not a schema"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an ATen schema");
    }

    @Test
    void dtypesTheOpRejects() {
        NDArray ints = m.create(new long[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3));
        NDArray floats = m.randomNormal(new Shape(3, 2));
        assertThatThrownBy(() -> Torch.matmul(ints, floats))
                .isInstanceOf(BridgeException.class)
                .hasMessageStartingWith("aten::matmul")
                .hasMessageContaining("Tensor(2, 3) int64")
                .hasMessageContaining("Tensor(3, 2) float32");
        NDArray logits = m.randomNormal(new Shape(4, 5));
        NDArray floatTargets = m.create(new float[] {0, 1, 2, 3});
        assertThatThrownBy(() -> Torch.crossEntropy(logits, floatTargets, Torch.Reduction.MEAN, -100))
                .isInstanceOf(BridgeException.class)
                .hasMessageStartingWith("aten::cross_entropy_loss");
        NDArray bad = m.randomNormal(new Shape(1, 2, 3, 4));
        NDArray other = m.randomNormal(new Shape(1, 2, 3, 5));
        assertThatThrownBy(() -> Torch.sdpa(bad, other, other, null, false))
                .isInstanceOf(BridgeException.class)
                .hasMessageStartingWith("aten::scaled_dot_product_attention");
    }

    @Test
    void resultNeedsAnOwner() {
        Op eye = Op.of("aten::eye(SymInt n, *, ScalarType? dtype=None, Layout? layout=None,"
                + " Device? device=None, bool? pin_memory=None) -> Tensor");
        assertThatThrownBy(() -> eye.call(3L))
                .isInstanceOf(BridgeException.class)
                .hasMessageContaining("needs at least one tensor argument");
        NDArray t = eye.callOn((ai.djl.pytorch.engine.PtNDManager) m, 2L, ScalarType.FLOAT32)[0];
        assertThat(t.getManager()).isSameAs(m);
        assertThat(t.toFloatArray()).containsExactly(1f, 0f, 0f, 1f);
    }

    @Test
    void multipleReturnsNeedCallAll() {
        Op max = Op.of("aten::max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)");
        NDArray v = m.create(new float[] {1, 5, 2, 7, 0, 3}, new Shape(2, 3));
        assertThatThrownBy(() -> max.call(v, 1L))
                .isInstanceOf(BridgeException.class).hasMessageContaining("use callAll()");
        NDArray[] out = max.callAll(v, 1L);
        assertThat(out[0].toFloatArray()).containsExactly(5f, 7f);
        assertThat(out[1].toLongArray()).containsExactly(1L, 0L);
    }
}
