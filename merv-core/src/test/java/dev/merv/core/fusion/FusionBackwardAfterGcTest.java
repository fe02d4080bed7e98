package dev.merv.core.fusion;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.testing.Compare;
import dev.merv.core.testing.DirectMemory;
import dev.merv.core.torch.Torch;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Regression for the sporadic first-step gradient blow-up of {@code ./merv pretrain} (pre-clip norm
 * ~2e9): the cross-attention fusion scaled its query with DJL's {@code NDArray.mul(Number)}, whose
 * scalar is a Java-backed tensor closed right after the op, while autograd keeps it for the query's
 * backward. A garbage collection between forward and backward freed it, and backward multiplied the
 * gradients of {@code Q}, {@code q_proj_weight} and the query bias by whatever reused that memory.
 * Here the graph is back-propagated once, then again after forcing that collection: the second pass
 * must add exactly the same gradients.
 */
class FusionBackwardAfterGcTest {

    @Test
    void fusionGradientsSurviveAGarbageCollectionBetweenForwardAndBackward() {
        int encoders = 3;
        int llmDim = 8;
        int tokens = 2;
        int embed = 4;
        try (NDManager m = NDManager.newBaseManager(); var g = Torch.withGrad()) {
            CrossAttentionFusion fusion = new CrossAttentionFusion(encoders, llmDim, tokens, embed, false);
            fusion.initialize(ReferenceInit.seeded(3), m);
            // a non-zero key bias so the query's scale matters for every trained tensor of the score path
            Param bias = fusion.namedParameters().get("attention.in_proj_bias");
            bias.set(m.randomNormal(new Shape(3L * embed)));
            List<NDArray> projected = new ArrayList<>();
            for (int e = 0; e < encoders; e++) {
                projected.add(m.randomNormal(new Shape(2, tokens, llmDim)));
            }
            NDArray probe = m.randomNormal(new Shape(2, tokens, llmDim));
            FusionResult out = fusion.fuse(projected, FusionContext.NONE);
            NDArray loss = out.tokens().mul(probe).sum();
            Map<String, float[]> first = backward(fusion, loss, m);
            assertThat(first.get("Q")).as("the query gets a gradient").isNotNull();
            List<ByteBuffer> poison = DirectMemory.reclaimAndPoison();
            Map<String, float[]> twice = backward(fusion, loss, m);
            assertThat(poison).isNotEmpty();
            for (Map.Entry<String, float[]> e : first.entrySet()) {
                float[] once = e.getValue();
                float[] doubled = new float[once.length];
                for (int i = 0; i < once.length; i++) {
                    doubled[i] = 2 * once[i];
                }
                Compare.assertClose("grad of " + e.getKey() + " after a GC", twice.get(e.getKey()), doubled,
                        new long[] {once.length}, 1e-6, 1e-5);
            }
        }
    }

    /** Back-propagates {@code loss} (graph kept) and returns every trained parameter's accumulated gradient. */
    private static Map<String, float[]> backward(FeatureFusion fusion, NDArray loss, NDManager m) {
        try (NDArray seed = m.ones(loss.getShape())) {
            JniUtils.backward((PtNDArray) loss, (PtNDArray) seed, true, false);
        }
        Map<String, float[]> grads = new LinkedHashMap<>();
        fusion.namedParameters().forEach((k, p) -> {
            PtNDArray gr = JniUtils.getGradient((PtNDArray) p.get());
            if (gr != null) {
                try (gr) {
                    grads.put(k, Torch.toFloatArray(gr));
                }
            }
        });
        return grads;
    }
}
