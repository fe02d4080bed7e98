package dev.merv.core.torch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.DirectMemory;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The scalar arithmetic of {@link Torch} keeps what autograd saved alive across a garbage collection
 * between forward and backward (DJL's {@code mul(Number)} / {@code div(Number)} do not: their scalar is
 * a Java-backed tensor that the collector frees; see {@link Torch#mulScalar}). Each op is
 * back-propagated once, then again after the collection; the second pass must add the same gradient.
 */
class ScalarOpsAfterGcTest {

    static Stream<Arguments> ops() {
        return Stream.of(
                Arguments.of("mulScalar", (UnaryOperator<NDArray>) x -> Torch.mulScalar(x, 0.37)),
                Arguments.of("divScalar", (UnaryOperator<NDArray>) x -> Torch.divScalar(x, 7.0)),
                Arguments.of("addScalar", (UnaryOperator<NDArray>) x -> Torch.mul(Torch.addScalar(x, 1.5), x)),
                Arguments.of("geluTanh", (UnaryOperator<NDArray>) Torch::geluTanh));
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("ops")
    void gradientSurvivesAGarbageCollection(String name, UnaryOperator<NDArray> op) {
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.withGrad()) {
            NDArray x = m.randomNormal(new Shape(64));
            x.setRequiresGradient(true);
            NDArray y = op.apply(x);
            NDArray loss = y.sum();
            float[] once = backward(loss, x, m);
            List<ByteBuffer> poison = DirectMemory.reclaimAndPoison();
            float[] twice = backward(loss, x, m);
            float[] doubled = new float[once.length];
            for (int i = 0; i < once.length; i++) {
                doubled[i] = 2 * once[i];
            }
            Compare.assertClose(name + " gradient after a GC (" + poison.size() + " poisoned chunks)", twice, doubled,
                    new long[] {once.length}, 1e-6, 1e-6);
        }
    }

    private static float[] backward(NDArray loss, NDArray x, NDManager m) {
        try (NDArray seed = m.ones(loss.getShape())) {
            JniUtils.backward((PtNDArray) loss, (PtNDArray) seed, true, false);
        }
        try (PtNDArray gr = JniUtils.getGradient((PtNDArray) x)) {
            return Torch.toFloatArray(gr);
        }
    }
}
