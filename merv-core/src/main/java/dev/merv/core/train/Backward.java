package dev.merv.core.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;

/**
 * One micro-batch's forward and backward, either plain (autograd keeps every activation) or with
 * activation recomputation per layer. Both seed the backward with {@code weight} (the micro-batch's
 * share of the step's loss normalisation), so gradients accumulate into the parameters' {@code .grad}.
 */
final class Backward {

    private Backward() {}

    /**
     * Back-propagates {@code grad} from {@code x} if {@code x} is in the autograd graph, and says whether it was.
     * Asked directly, DJL answers {@code requiresGrad} false for every non-leaf tensor and dereferences a null
     * grad_fn when asked its name (a JVM crash, e.g. for the embeddings of a text-only micro-batch when the LLM is
     * frozen or carries LoRA adapters); libtorch itself refuses a tensor outside the graph with an error.
     */
    static boolean backwardIfInGraph(NDArray x, NDArray grad) {
        try {
            JniUtils.backward((PtNDArray) x, (PtNDArray) grad, false, false);
            return true;
        } catch (ai.djl.engine.EngineException e) {
            if (String.valueOf(e.getMessage()).contains("does not require grad")) {
                return false;
            }
            throw e;
        }
    }

    /**
     * The micro-batch's summed loss as a detached fp64 0-dim tensor on the replica's device (the replica adds
     * these up there and reads the step's total once; {@code (double)} of the fp32 loss, exactly what a host
     * read would give), owned by the step's manager; and the model's count of its supervised tokens (the loader's
     * count when the batch carries one, so no device read).
     */
    record Result(NDArray summed, long tokens) {

        /** The value on the host: a device synchronisation, for tests and diagnostics (the trainer never calls it). */
        double summedValue() {
            return summed.getDouble();
        }
    }

    /** Plain forward with autograd, then {@code backward(loss, weight)}. */
    static <B extends MicroBatch> Result plain(TrainableModel<B> model, B batch, double weight, NDManager step) {
        try (var g = Torch.withGrad()) {
            LossSum ls = model.forward(batch);
            return seedBackward(ls, weight, step);
        }
    }

    private static Result seedBackward(LossSum ls, double weight, NDManager step) {
        NDArray loss = ls.summed();
        NDArray loss32 = Torch.dtype(loss) == ScalarType.FLOAT32 ? loss : Torch.to(loss, ScalarType.FLOAT32);
        // no host read here: a read would wait for the whole forward before backward could be queued
        NDArray value;
        try (var ng = Torch.noGrad()) {
            value = Torch.copy(loss32, ScalarType.FLOAT64);
        }
        NDScope.unregister(value); // it outlives the recomputing caller's scope
        value.attach(step);
        try (NDArray seed = Torch.scalar(step, weight, ScalarType.FLOAT32).reshape(loss32.getShape())) {
            backwardIfInGraph(loss32, seed);
        }
        if (loss32 != loss) {
            loss32.close();
        }
        loss.close();
        return new Result(value, ls.tokens());
    }

    /**
     * Backward with per-layer recomputation: layer inputs are kept, each layer's activations are freed
     * right after its no-grad forward, and during backward each layer is rerun with autograd from its
     * stored input and back-propagated with {@code JniUtils.backward(output, gradOutput)}.
     */
    static <B extends MicroBatch> Result recompute(TrainableModel<B> model, B batch, double weight, NDManager step) {
        return recompute(model, batch, weight, step, layer -> { });
    }

    /**
     * {@link #recompute(TrainableModel, MicroBatch, double, NDManager)} telling {@code layerDone} each time a
     * layer's backward has run (from the top layer down): that layer's parameters then hold their final
     * gradients of this micro-batch, so their gradient buckets can be reduced while the layers below still
     * run their backward.
     */
    static <B extends MicroBatch> Result recompute(TrainableModel<B> model, B batch, double weight, NDManager step,
            java.util.function.IntConsumer layerDone) {
        TrainableModel.Layered<B> layered = model.layered();
        TrainableModel.Prefix prefix;
        try (var g = Torch.withGrad()) {
            prefix = layered.prefix(batch);
        }
        LanguageModel.LayerContext ctx = prefix.context();
        int n = layered.numLayers();
        NDArray[] inputs = new NDArray[n];
        NDArray h0 = prefix.hidden();
        NDArray x = h0;
        try {
            try (var ng = Torch.noGrad()) {
                for (int i = 0; i < n; i++) {
                    inputs[i] = x;
                    try (NDScope scope = new NDScope()) {
                        NDArray y = layered.layer(i, x, ctx);
                        NDScope.unregister(y);
                        y.attach(step);
                        x = y;
                        scope.suppressNotUsedWarning();
                    }
                }
            }
            NDArray top = x.stopGradient();
            top.attach(step);
            top.setRequiresGradient(true);
            Result result;
            try (var g = Torch.withGrad(); NDScope scope = new NDScope()) {
                LossSum ls = layered.head(top, ctx, batch);
                result = seedBackward(ls, weight, step);
                scope.suppressNotUsedWarning();
            }
            PtNDArray gradOut = JniUtils.getGradient((PtNDArray) top);
            top.close();
            if (n > 0 && x != h0) {
                x.close();
            }
            for (int i = n - 1; i >= 0; i--) {
                if (gradOut == null) {
                    break;
                }
                try (var g = Torch.withGrad(); NDScope scope = new NDScope()) {
                    NDArray in = inputs[i].stopGradient();
                    in.setRequiresGradient(true);
                    NDArray y = layered.layer(i, in, ctx);
                    JniUtils.backward((PtNDArray) y, gradOut, false, false);
                    gradOut.close();
                    gradOut = JniUtils.getGradient((PtNDArray) in);
                    if (gradOut != null) {
                        NDScope.unregister(gradOut);
                        gradOut.attach(step);
                    }
                    scope.suppressNotUsedWarning();
                }
                if (i > 0) {
                    inputs[i].close();
                }
                layerDone.accept(i);
            }
            if (gradOut != null) {
                backwardIfInGraph(h0, gradOut);
                gradOut.close();
            }
            return result;
        } finally {
            ctx.close();
        }
    }


}
