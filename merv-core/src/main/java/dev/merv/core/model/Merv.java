package dev.merv.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.config.ConfigValidator;
import dev.merv.core.config.ModelConfig;
import dev.merv.core.config.Stage;
import dev.merv.core.fusion.FeatureFusion;
import dev.merv.core.fusion.FusionContext;
import dev.merv.core.fusion.FusionResult;
import dev.merv.core.fusion.FusionType;
import dev.merv.core.fusion.Fusions;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.ModuleList;
import dev.merv.core.nn.Param;
import dev.merv.core.projector.ArchSpecifier;
import dev.merv.core.projector.Projector;
import dev.merv.core.projector.Projectors;
import dev.merv.core.projector.ReferenceInit;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.torch.Transfers;
import dev.merv.core.train.CausalLmLoss;
import dev.merv.core.train.LossSum;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The assembled MERV model (docs/reference.md §3-4): frozen video encoders, one projector per encoder,
 * the feature fusion and the LLM, with the reference's training forward.
 *
 * <p>Forward for a {@link MervBatch}:
 *
 * <ol>
 *   <li>Each encoder runs without autograd on the batch's pixels, which hold only the multimodal rows
 *       (W7: text-only rows never go through the encoders; the reference runs them on zero videos and
 *       discards the result, which changes nothing). Encoders are independent: with
 *       {@link Options#encoderExecutor} they run concurrently.
 *   <li>Each projector maps {@code [B_mm, T', N, C]} to {@code [B_mm, L, D]}; the fusion mixes them.
 *   <li>Splice (docs/reference.md §4.6): multimodal rows become {@code [BOS][L visual][rest]} (no BOS for Qwen),
 *       mask/labels extended with true/-100; text-only rows get L zero vectors appended at the end with
 *       mask false and labels -100; multimodal rows come first, then text-only rows. A batch with no
 *       multimodal row goes to the LLM unchanged.
 *   <li>The LLM gives logits; the loss is the shifted cross-entropy in fp32, mean over labels != -100.
 * </ol>
 *
 * <p>Image rows are multimodal rows like videos: the data module replicates the image to the encoders'
 * frame counts (as the reference does) and {@link MervBatch#isImage()} does not change the forward (the
 * reference passes it to every encoder, which ignores it).
 *
 * <p>Parameter paths are the reference's: {@code video_backbones.<i>.featurizer.*} (the encoder's
 * module), {@code llm_backbone.llm.*} (the LLM's module, HF names), {@code projectors.<i>.*},
 * {@code feature_fusion.*}.
 */
public final class Merv {

    private static final Logger LOG = LoggerFactory.getLogger(Merv.class);

    /** Runs the LLM on spliced inputs and returns logits; lets the trainer recompute layer by layer. */
    @FunctionalInterface
    public interface LlmRunner {
        NDArray run(LanguageModel llm, NDArray embeddings, NDArray attentionMask);
    }

    /** Construction and forward options. */
    public static final class Options {
        ExecutorService encoderExecutor;
        Integer bosTokenLength;
        boolean keepIntermediates;
        boolean initialize = true;

        /** Runs the encoders concurrently on this executor (null: one after the other on the caller's thread). */
        public Options encoderExecutor(ExecutorService e) {
            encoderExecutor = e;
            return this;
        }

        /** Tokens kept before the visual tokens (1 = BOS); default: 1 when the LLM's tokenizer has a BOS, else 0. */
        public Options bosTokenLength(int n) {
            bosTokenLength = n;
            return this;
        }

        /** Keeps encoder features, projected and fused tokens in {@link SplicedInputs#intermediates()}. */
        public Options keepIntermediates(boolean keep) {
            keepIntermediates = keep;
            return this;
        }

        /** Whether the constructor draws fresh projector/fusion weights (off when a checkpoint will be loaded). */
        public Options initialize(boolean init) {
            initialize = init;
            return this;
        }
    }

    private final ModelConfig config;
    private final ArchSpecifier arch;
    private final List<VideoEncoder> encoders;
    private final LanguageModel llm;
    private final ModuleList<Projector> projectors = new ModuleList<>();
    private final List<FrozenPoint> frozenPoints = new ArrayList<>();
    private final FeatureFusion fusion;
    private final Root root;
    private final int visualLength;
    private final int bosLength;
    private final Options options;
    private volatile MixingWeights lastMixingWeights;
    private volatile NDArray lastMixingTensor;
    private NDManager records;

    /**
     * Builds projectors and fusion for {@code encoders} and {@code llm} as {@code config} says and, unless
     * {@link Options#initialize} is off, initialises them as the reference does: the stream is seeded with
     * encoder 0's embedding width, then projector 0..E-1 and the fusion draw in order.
     *
     * @param manager owns the fresh projector/fusion weights
     */
    public Merv(ModelConfig config, List<VideoEncoder> encoders, LanguageModel llm, NDManager manager, Options options) {
        // geometry is checked against the built encoders below, not the catalog's pretrained shapes
        ConfigValidator.validateModel(config, false);
        this.config = config;
        this.options = options == null ? new Options() : options;
        this.arch = ArchSpecifier.parse(config.archSpecifier());
        this.encoders = List.copyOf(encoders);
        this.llm = llm;
        if (encoders.size() != config.numEncoders()) {
            throw new IllegalArgumentException("model.video_backbone_ids lists " + config.numEncoders() + " encoders but "
                    + encoders.size() + " were built");
        }
        for (int i = 0; i < encoders.size(); i++) {
            VideoEncoder e = encoders.get(i);
            if (!e.id().equals(config.videoBackboneIds().get(i))) {
                throw new IllegalArgumentException("encoder " + i + " is '" + e.id() + "' but model.video_backbone_ids["
                        + i + "] is '" + config.videoBackboneIds().get(i) + "'");
            }
            if (e.numFrames() != config.numFrames().get(i)) {
                throw new IllegalArgumentException("encoder " + i + " (" + e.id() + ") takes " + e.numFrames()
                        + " frames but model.num_frames[" + i + "] is " + config.numFrames().get(i));
            }
        }
        int d = llm.embedDim();
        for (VideoEncoder e : encoders) {
            projectors.add(Projectors.build(arch, e.embedDim(), e.temporalResolution(), e.spatialResolution(), d,
                    config.projectorTokenLength()));
        }
        for (int i = 0; i < encoders.size(); i++) {
            frozenPoints.add(new FrozenPoint(encoders.get(i), projectors.get(i)));
        }
        this.visualLength = checkVisualLength();
        FusionType type = FusionType.parse(config.featureFusion());
        this.fusion = Fusions.build(type, encoders.size(), d, visualLength, config.fusionEmbedDim());
        this.root = new Root(encoders, llm, projectors, fusion);
        if (this.options.bosTokenLength != null) {
            bosLength = this.options.bosTokenLength;
        } else {
            bosLength = llm.text() != null && llm.text().tokenizer().bosId().isEmpty() ? 0 : 1;
        }
        if (this.options.initialize) {
            initialize(manager);
        }
    }

    /** The reference's projector validity check (docs/reference.md §3.4); single-encoder configs are corrected silently. */
    private int checkVisualLength() {
        int v = config.visualFeatureLength();
        if (projectors.size() == 1) {
            int actual = projectors.get(0).outputLength();
            if (actual != v) {
                LOG.info("visual_feature_length {} does not match the projector's {} tokens; using {}", v, actual, actual);
            }
            return actual;
        }
        List<String> got = new ArrayList<>();
        boolean bad = false;
        for (int i = 0; i < projectors.size(); i++) {
            int len = projectors.get(i).outputLength();
            got.add(encoders.get(i).id() + "=" + len);
            bad |= len != 1 && len != v;
        }
        if (bad) {
            throw new IllegalArgumentException("model.visual_feature_length=" + v + " but the projectors produce " + got
                    + " tokens; set --model.visual_feature_length or change model.projector_token_length / num_frames");
        }
        return v;
    }

    /** The parameter tree with the reference's names. */
    private static final class Root extends Module {
        Root(List<VideoEncoder> encoders, LanguageModel llm, ModuleList<Projector> projectors, FeatureFusion fusion) {
            ModuleList<Module> backbones = child("video_backbones", new ModuleList<>());
            for (VideoEncoder e : encoders) {
                backbones.add(new Wrapper("featurizer", e.module()));
            }
            child("llm_backbone", new Wrapper("llm", llm.module()));
            child("projectors", projectors);
            child("feature_fusion", fusion);
        }
    }

    private static final class Wrapper extends Module {
        Wrapper(String name, Module inner) {
            if (inner != null) {
                child(name, inner);
            }
        }
    }

    /** Draws fresh projector and fusion weights (reference order and seed). */
    public void initialize(NDManager manager) {
        ReferenceInit init = ReferenceInit.seeded(encoders.get(0).embedDim());
        for (Projector p : projectors.items()) {
            p.initialize(init, manager);
        }
        fusion.initialize(init, manager);
    }

    // ------------------------------------------------------------------------------ freezing

    /**
     * Sets what trains in {@code stage} (docs/reference.md §1.4): encoders are always frozen; projectors and fusion always
     * train; the LLM trains in every stage but {@code align}, and when it carries adapters (LoRA) only they
     * train while its own weights stay frozen. The fusion's dead parameters (W8) are frozen
     * too: they never receive a gradient, so this changes no output. {@code full-finetune} is not
     * implemented (as in the reference).
     */
    public void applyStage(Stage stage) {
        List<String> trains = stage.trainableModules();
        root.children().forEach((key, module) -> module.setTrainable(trains.contains(key)));
        Map<String, Param> adapters = llm.module() == null ? Map.of() : Linear.adapterParameters(llm.module());
        if (!adapters.isEmpty()) {
            llm.module().setTrainable(false);
            adapters.values().forEach(p -> p.setTrainable(trains.contains("llm_backbone")));
        }
        Map<String, Param> fp = fusion.namedParameters();
        for (String dead : fusion.unusedParameters()) {
            fp.get(dead).setTrainable(false);
        }
    }

    /** The top-level modules whose weights a checkpoint of {@code stage} holds (the reference's trainable keys). */
    public static List<String> trainableModuleKeys(Stage stage) {
        return stage.trainableModules();
    }

    // ------------------------------------------------------------------------------ forward

    /**
     * The training forward: splice, LLM, loss. The supervised-token count is the batch's (counted by the loader
     * on the host) unless it says -1; the LLM is told the batch's mask layout, so a right-padded batch attends
     * with the causal rule alone.
     */
    public MervOutput forward(MervBatch batch) {
        SplicedInputs in = splice(batch);
        NDArray logits = llm.forward(in.embeddings(), in.attentionMask(), null, null, in.maskLayout());
        return output(in, logits, batch);
    }

    /** The training forward with a custom LLM runner (e.g. layer-by-layer with recomputation). */
    public MervOutput forward(MervBatch batch, LlmRunner runner) {
        SplicedInputs in = splice(batch);
        NDArray logits = runner.run(llm, in.embeddings(), in.attentionMask());
        return output(in, logits, batch);
    }

    private static MervOutput output(SplicedInputs in, NDArray logits, MervBatch batch) {
        LossSum loss = CausalLmLoss.sum(logits, in.labels(), batch.supervisedTokens());
        return new MervOutput(logits, CausalLmLoss.mean(loss), loss.summed(), loss.tokens(), in);
    }

    /**
     * Encoders, projectors, fusion and the splice: everything before the LLM. Arrays are created in the
     * batch's manager (or the manager of the arrays the LLM's {@code embed} returns).
     */
    public SplicedInputs splice(MervBatch batch) {
        return splice(batch, null);
    }

    /**
     * Runs every encoder (no autograd) on {@code pixels}, one tensor per encoder with a leading batch axis,
     * and returns each encoder's features {@code [B, T', N, C]}. With {@link #splice(MervBatch, List)} this lets
     * an evaluation encode each video once however many questions ask about it.
     */
    public List<NDArray> encode(List<NDArray> pixels) {
        if (pixels.size() != encoders.size()) {
            throw new IllegalArgumentException("pixels for " + pixels.size() + " encoders, the model has " + encoders.size());
        }
        int[] rows = new int[encoders.size()];
        Arrays.fill(rows, (int) pixels.get(0).getShape().get(0));
        List<NDArray> out = new ArrayList<>();
        runEncoders(pixels, rows, null).forEach(v -> out.add(v.value()));
        return out;
    }

    /**
     * {@link #splice(MervBatch)} with the encoders' features given ({@link #encode}: one row per multimodal
     * row of the batch, in {@code multimodalIndices} order; null = run the encoders on the batch's pixels).
     * The splice takes ownership of the given feature arrays.
     */
    public SplicedInputs splice(MervBatch batch, List<NDArray> encoded) {
        NDManager mgr = batch.manager();
        NDArray ids = batch.inputIds();
        NDArray mask = batch.attentionMask();
        NDArray labels = batch.labels();
        int b = batch.batchSize();
        int[] mm = batch.multimodalIndices();
        NDArray textEmb = llm.embed(ids);
        if (mm.length == 0) {
            recordMixingWeights(null);
            int[] order = new int[b];
            Arrays.setAll(order, i -> i);
            return new SplicedInputs(textEmb, mask, labels, order, 0, null, Map.of(), batch.maskLayout());
        }
        if (encoded == null && batch.pixels().size() != encoders.size()) {
            throw new IllegalArgumentException("batch has pixels for " + batch.pixels().size() + " encoders, the model has "
                    + encoders.size());
        }
        if (encoded != null && encoded.size() != encoders.size()) {
            throw new IllegalArgumentException("features for " + encoded.size() + " encoders, the model has " + encoders.size());
        }
        if (encoded != null) {
            for (int i = 0; i < encoded.size(); i++) {
                if (encoded.get(i).getShape().get(0) != mm.length) {
                    throw new IllegalArgumentException("features of encoder " + i + " have " + encoded.get(i).getShape().get(0)
                            + " rows but the batch has " + mm.length + " multimodal rows");
                }
            }
        }
        Map<String, NDArray> trace = options.keepIntermediates ? new LinkedHashMap<>() : Collections.emptyMap();
        FrozenFeatures frozen = batch.frozen();
        if (frozen != null && encoded != null) {
            throw new IllegalArgumentException("a batch with cached features takes no separately encoded features");
        }
        if (frozen != null && frozen.size() != encoders.size()) {
            throw new IllegalArgumentException("batch has cached features for " + frozen.size() + " encoders, the model has "
                    + encoders.size());
        }
        int[] rows = new int[encoders.size()];
        for (int i = 0; i < rows.length; i++) {
            FrozenFeatures.Encoder fe = frozen == null ? null : frozen.encoder(i);
            rows[i] = fe == null ? mm.length : fe.pixelRows();
            if (fe != null && fe.cachedIndex().length != mm.length) {
                throw new IllegalArgumentException("cached features of encoder " + i + " (" + encoders.get(i).id() + ") cover "
                        + fe.cachedIndex().length + " rows but the batch has " + mm.length + " multimodal rows");
            }
        }
        List<FrozenPoint.Values> computed = new ArrayList<>();
        if (encoded != null) {
            encoded.forEach(f -> computed.add(new FrozenPoint.Values(f, null)));
        } else {
            computed.addAll(runEncoders(batch.pixels(), rows, frozen));
        }
        List<NDArray> features = new ArrayList<>();
        List<NDArray> projected = new ArrayList<>();
        // per cached encoder, the rows' mean encoder tokens for a class-key fusion (else computed from features)
        List<NDArray> cachedMeans = new ArrayList<>();
        for (int i = 0; i < encoders.size(); i++) {
            FrozenFeatures.Encoder fe = frozen == null ? null : frozen.encoder(i);
            ScalarType want = projectorDtype(projectors.get(i));
            if (fe != null) {
                features.add(null);
                NDArray[] frozenOut = fromFrozenPoint(i, fe, computed.get(i), frozen, trace);
                projected.add(frozenOut[0]);
                cachedMeans.add(frozenOut[1]);
                continue;
            }
            cachedMeans.add(null);
            NDArray f = computed.get(i).value();
            features.add(f);
            if (want != null && Torch.dtype(f) != want) {
                try (var ng = Torch.noGrad()) {
                    features.set(i, Torch.to(f, want));
                }
                f.close();
            }
            projected.add(projectors.get(i).forward(features.get(i)));
            if (options.keepIntermediates) {
                trace.put("video_features_" + i, features.get(i));
                trace.put("projected_" + i, projected.get(i));
            }
        }
        NDArray mmIdx = Transfers.upload(Arrays.stream(mm).mapToLong(x -> x).toArray(), new Shape(mm.length), mgr);
        boolean allRowsInOrder = mm.length == b && isIdentity(mm);
        NDArray embMm = allRowsInOrder ? textEmb : Torch.indexSelect(textEmb, 0, mmIdx);
        FusionContext ctx = fusionContext(embMm, allRowsInOrder ? mask : Torch.indexSelect(mask, 0, mmIdx), features,
                cachedMeans);
        FusionResult fused = fusion.fuse(projected, ctx);
        NDArray visual = fused.tokens();
        if (!options.keepIntermediates) {
            projected.forEach(NDArray::close);
            features.stream().filter(x -> x != null).forEach(NDArray::close);
            for (int i = 0; i < cachedMeans.size(); i++) {
                // the cache's own arrays belong to the batch
                if (cachedMeans.get(i) != null && cachedMeans.get(i) != frozen.encoder(i).cachedClassKeys()) {
                    cachedMeans.get(i).close();
                }
            }
        } else {
            trace.put("fused", visual);
        }
        recordMixingWeights(fused.weights());
        ScalarType embType = Torch.dtype(textEmb);
        if (Torch.dtype(visual) != embType) {
            visual = Torch.to(visual, embType);
        }
        int l = (int) visual.getShape().get(1);
        long t = ids.getShape().get(1);
        long d = textEmb.getShape().get(2);

        NDArray maskMm = allRowsInOrder ? mask : Torch.indexSelect(mask, 0, mmIdx);
        NDArray labMm = allRowsInOrder ? labels : Torch.indexSelect(labels, 0, mmIdx);
        NDArray embOut = insert(embMm, visual, 1);
        NDArray visMask = mgr.ones(new Shape(mm.length, l), mask.getDataType());
        NDArray maskOut = insert(maskMm, visMask, 1);
        NDArray visLab = mgr.full(new Shape(mm.length, l), (float) MervBatch.IGNORE_INDEX, labels.getDataType());
        NDArray labOut = insert(labMm, visLab, 1);

        int[] order = new int[b];
        System.arraycopy(mm, 0, order, 0, mm.length);
        if (mm.length < b) {
            int[] text = textRows(mm, b);
            System.arraycopy(text, 0, order, mm.length, text.length);
            NDArray txtIdx = Transfers.upload(Arrays.stream(text).mapToLong(x -> x).toArray(), new Shape(text.length), mgr);
            NDArray embT = Torch.indexSelect(textEmb, 0, txtIdx);
            NDArray padEmb;
            try (NDArray z = mgr.zeros(new Shape(text.length, l, d))) {
                padEmb = Torch.to(z, embType);
                if (padEmb == z) {
                    padEmb = z.duplicate();
                }
            }
            NDArray embTxt = embT.concat(padEmb, 1);
            NDArray maskTxt = Torch.indexSelect(mask, 0, txtIdx).concat(mgr.zeros(new Shape(text.length, l),
                    mask.getDataType()), 1);
            NDArray labTxt = Torch.indexSelect(labels, 0, txtIdx).concat(mgr.full(new Shape(text.length, l),
                    (float) MervBatch.IGNORE_INDEX, labels.getDataType()), 1);
            embOut = embOut.concat(embTxt, 0);
            maskOut = maskOut.concat(maskTxt, 0);
            labOut = labOut.concat(labTxt, 0);
        }
        if (embOut.getShape().get(1) != t + l) {
            throw new IllegalStateException("splice produced " + embOut.getShape() + ", expected length " + (t + l));
        }
        return new SplicedInputs(embOut, maskOut, labOut, order, l, fused.weights(), trace, batch.maskLayout());
    }

    /** {@code [x[:, :bos], v, x[:, bos:]]} along {@code axis} 1. */
    private NDArray insert(NDArray x, NDArray v, int axis) {
        long t = x.getShape().get(axis);
        NDList parts = new NDList();
        if (bosLength > 0) {
            parts.add(x.get(":, 0:" + bosLength));
        }
        parts.add(v);
        if (t > bosLength) {
            parts.add(x.get(":, " + bosLength + ":" + t));
        }
        return NDArrays.concat(parts, axis);
    }

    /**
     * Runs each encoder on its pixels ({@code rows[i]} rows each): the raw features of an uncached encoder,
     * the values at the {@link FrozenPoint} (cast and resampled there) of a cached one; null for a cached
     * encoder with no pixel row.
     */
    private List<FrozenPoint.Values> runEncoders(List<NDArray> pixels, int[] rows, FrozenFeatures frozen) {
        for (int i = 0; i < encoders.size(); i++) {
            long have = pixels.get(i).getShape().get(0);
            if (have != rows[i]) {
                FrozenFeatures.Encoder fe = frozen == null ? null : frozen.encoder(i);
                throw new IllegalArgumentException("pixels for encoder " + i + " (" + encoders.get(i).id() + ") have "
                        + have + " rows but the batch has " + (fe == null ? rows[i] + " multimodal rows"
                        : fe.misses() + " rows the feature cache missed + " + fe.extraRows() + " to store"));
            }
        }
        List<FrozenPoint.Values> out = new ArrayList<>();
        if (options.encoderExecutor == null) {
            for (int i = 0; i < encoders.size(); i++) {
                out.add(encodeOne(i, pixels.get(i), frozen));
            }
            return out;
        }
        List<Future<FrozenPoint.Values>> futures = new ArrayList<>();
        for (int i = 0; i < encoders.size(); i++) {
            int idx = i;
            futures.add(options.encoderExecutor.submit(() -> encodeOne(idx, pixels.get(idx), frozen)));
        }
        try {
            for (Future<FrozenPoint.Values> f : futures) {
                out.add(f.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while encoding", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("encoder failed", e.getCause());
        }
        return out;
    }

    /** Raw features of an uncached encoder; the frozen point's values of a cached one (null without pixel rows). */
    private FrozenPoint.Values encodeOne(int i, NDArray px, FrozenFeatures frozen) {
        FrozenFeatures.Encoder fe = frozen == null ? null : frozen.encoder(i);
        if (fe == null) {
            return new FrozenPoint.Values(encodeOne(i, px), null);
        }
        if (fe.pixelRows() == 0) {
            return null;
        }
        return frozenPoints.get(i).compute(px, projectorDtype(projectors.get(i)), fusion.needsClassKeys());
    }

    /**
     * A cached encoder's projected tokens {@code [B_mm, L, D]} and, for a class-key fusion, its rows' mean
     * encoder tokens: the computed rows' values go to the cache's sink, then computed and cached rows are
     * put back in multimodal order and the rest of the projector runs on them.
     */
    private NDArray[] fromFrozenPoint(int i, FrozenFeatures.Encoder fe, FrozenPoint.Values computed, FrozenFeatures frozen,
            Map<String, NDArray> trace) {
        FrozenPoint point = frozenPoints.get(i);
        ScalarType want = projectorDtype(projectors.get(i));
        if (computed != null) {
            frozen.store(i, computed.value(), computed.classKeys());
        }
        if (fe.cached() != null) {
            checkCached(i, point, fe.cached(), want, computed == null ? null : computed.value());
        }
        NDArray value = ordered(fe, computed == null ? null : computed.value(), fe.cached());
        NDArray means = null;
        if (fusion.needsClassKeys()) {
            if (fe.hits() > 0 && fe.cachedClassKeys() == null) {
                throw new IllegalArgumentException("cached features of encoder " + i + " (" + encoders.get(i).id()
                        + ") carry no mean tokens, which the " + config.featureFusion() + " fusion needs");
            }
            means = ordered(fe, computed == null ? null : computed.classKeys(), fe.cachedClassKeys());
        }
        NDArray out = point.kind() == FrozenPoint.Kind.RESAMPLED ? projectors.get(i).forwardResampled(value)
                : projectors.get(i).forward(value);
        if (options.keepIntermediates) {
            trace.put("frozen_" + i, value);
            trace.put("projected_" + i, out);
        } else {
            // autograd keeps what the projector saved; the handles go now, as the uncached path's features do
            if (computed != null && computed.value() != value) {
                computed.value().close();
            }
            if (value != fe.cached()) {
                value.close();
            }
        }
        return new NDArray[] {out, means};
    }

    /** Fails naming the encoder when cached values are not what this model computes at that point. */
    private void checkCached(int i, FrozenPoint point, NDArray cached, ScalarType want, NDArray computed) {
        long[] row = point.rowShape();
        long[] have = cached.getShape().getShape();
        boolean shapeOk = have.length == row.length + 1;
        for (int d = 0; shapeOk && d < row.length; d++) {
            shapeOk = have[d + 1] == row[d];
        }
        ScalarType dtype = want != null ? want : computed != null ? Torch.dtype(computed) : Torch.dtype(cached);
        if (!shapeOk || Torch.dtype(cached) != dtype) {
            throw new IllegalArgumentException("cached features of encoder " + i + " (" + encoders.get(i).id() + ") are "
                    + Torch.dtype(cached) + " " + cached.getShape() + " but the model computes " + dtype + " rows of "
                    + Arrays.toString(row) + " at " + point.describe()
                    + " (the cache key must hold the precision and the projector's resampler)");
        }
    }

    /**
     * Rows of computed ({@code [misses + extra, ...]}, the first {@code misses} used) and cached
     * ({@code [hits, ...]}) values in multimodal order; either may be null when it has no row.
     */
    private static NDArray ordered(FrozenFeatures.Encoder fe, NDArray computed, NDArray cached) {
        int misses = fe.misses();
        int hits = fe.hits();
        if (hits == 0) {
            return fe.extraRows() == 0 ? computed : computed.get("0:" + misses);
        }
        if (misses == 0) {
            return cached;
        }
        long[] index = new long[fe.cachedIndex().length];
        int m = 0;
        for (int k = 0; k < index.length; k++) {
            int c = fe.cachedIndex()[k];
            index[k] = c >= 0 ? misses + c : m++;
        }
        // assembled in the computed rows' memory layout, which the projector's bf16 products are sensitive to
        int[] order;
        try (NDArray row = computed.get(0)) {
            order = Torch.memoryOrder(row);
        }
        int[] perm = new int[order.length + 1];
        int[] inverse = new int[perm.length];
        for (int i = 0; i < order.length; i++) {
            perm[i + 1] = order[i] + 1;
            inverse[order[i] + 1] = i + 1;
        }
        try (NDArray used = computed.get("0:" + misses); NDArray a = used.transpose(perm); NDArray b = cached.transpose(perm);
                NDArray both = a.concat(b, 0); NDArray idx = cached.getManager().create(index);
                NDArray sel = Torch.indexSelect(both, 0, idx)) {
            return sel.transpose(inverse);
        }
    }

    private NDArray encodeOne(int i, NDArray px) {
        // grad mode is per thread: frozen encoders record nothing wherever they run
        try (var ng = Torch.noGrad()) {
            return encoders.get(i).encode(px);
        }
    }

    /**
     * @param features each uncached encoder's features (null for a cached one)
     * @param cachedMeans each cached encoder's rows' mean encoder tokens (null for an uncached one, or when the
     *     fusion needs no class keys)
     */
    private FusionContext fusionContext(NDArray embMm, NDArray maskMm, List<NDArray> features, List<NDArray> cachedMeans) {
        NDArray query = null;
        List<NDArray> keys = null;
        if (fusion.needsTextQuery()) {
            // mean of the row's attended text-token embeddings (merv's definition of query_mlp's query)
            try (NDArray m = Torch.to(maskMm, Torch.dtype(embMm)); NDArray m3 = m.expandDims(2);
                    NDArray masked = embMm.mul(m3); NDArray s = masked.sum(new int[] {1});
                    NDArray one = Torch.scalar(m.getManager(), 1, ScalarType.FLOAT32);
                    NDArray counted = m.sum(new int[] {1}, true); NDArray n = counted.maximum(one)) {
                query = s.div(n);
            }
        }
        if (fusion.needsClassKeys()) {
            keys = new ArrayList<>();
            for (int i = 0; i < features.size(); i++) {
                // the encoder's class embedding, approximated by the mean token (the encoders used drop CLS)
                ScalarType want = projectorDtype(projectors.get(i));
                NDArray cached = cachedMeans.get(i);
                try (NDArray mean = cached != null ? cached.duplicate() : FrozenPoint.meanToken(features.get(i))) {
                    NDArray in = want != null && Torch.dtype(mean) != want ? Torch.to(mean, want) : mean;
                    keys.add(projectors.get(i).head().forward(in));
                }
            }
        }
        return new FusionContext(query, keys);
    }

    /**
     * Keeps a detached copy of the fusion weights on their device; {@link #lastMixingWeights} copies them to
     * the host only when asked (the trainer asks on one replica, once per step), never inside the forward.
     */
    private void recordMixingWeights(NDArray w) {
        NDArray previous = lastMixingTensor;
        lastMixingTensor = null;
        lastMixingWeights = null;
        if (previous != null) {
            previous.close();
        }
        if (w == null) {
            return;
        }
        if (records == null || !records.getDevice().equals(w.getDevice())) {
            // a manager of Merv's own: the batch's and the weights' managers are closed before the trainer asks
            records = NDManager.newBaseManager(w.getDevice());
        }
        NDArray copy;
        try (var ng = Torch.noGrad()) {
            copy = Torch.clone(w);
        }
        ai.djl.ndarray.NDScope.unregister(copy);
        copy.attach(records);
        lastMixingTensor = copy;
    }

    private static ScalarType projectorDtype(Projector p) {
        for (Param param : p.namedParameters().values()) {
            if (param.isSet()) {
                return param.dtype();
            }
        }
        return null;
    }

    private static boolean isIdentity(int[] idx) {
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] != i) {
                return false;
            }
        }
        return true;
    }

    private static int[] textRows(int[] mm, int b) {
        boolean[] isMm = new boolean[b];
        for (int i : mm) {
            isMm[i] = true;
        }
        return java.util.stream.IntStream.range(0, b).filter(i -> !isMm[i]).toArray();
    }

    // ------------------------------------------------------------------------------ accessors

    /** The fusion weights of the last forward ({@code [B_mm, E]} host copy, read from the device on first ask), null if none. */
    public MixingWeights lastMixingWeights() {
        MixingWeights w = lastMixingWeights;
        NDArray t = lastMixingTensor;
        if (w == null && t != null) {
            w = new MixingWeights(config.videoBackboneIds(), (int) t.getShape().get(0), Torch.toFloatArray(t));
            lastMixingWeights = w;
        }
        return w;
    }

    /** The whole parameter tree with the reference's names. */
    public Module module() {
        return root;
    }

    /**
     * One top-level module's parameters by the names a reference checkpoint stores under that key
     * ({@code projectors} -> {@code 0.projector.projector.weight}, {@code feature_fusion} -> {@code Q},
     * {@code llm_backbone} -> {@code llm.model.embed_tokens.weight}, {@code video_backbones} -> {@code 0.featurizer.*}).
     */
    public Map<String, Param> parameters(String moduleKey) {
        Module m = root.children().get(moduleKey);
        if (m == null) {
            throw new IllegalArgumentException("no module '" + moduleKey + "'; modules are " + root.children().keySet());
        }
        return m.namedParameters();
    }

    public List<Projector> projectors() {
        return projectors.items();
    }

    /** Each encoder's frozen point: where a feature cache stores its values (after a parameter-free resampler). */
    public List<FrozenPoint> frozenPoints() {
        return List.copyOf(frozenPoints);
    }

    public Module projectorModule() {
        return projectors;
    }

    public FeatureFusion fusion() {
        return fusion;
    }

    public List<VideoEncoder> encoders() {
        return encoders;
    }

    public LanguageModel llm() {
        return llm;
    }

    /**
     * The device the model's weights live on (that of the LLM's first weight): where callers must make the
     * arrays they hand it, never DJL's default device (which can differ: the GPU of a machine that trains on
     * the CPU, or the CPU when DJL's own probe misses a GPU that libtorch sees).
     */
    public ai.djl.Device device() {
        for (Param p : llm.module().namedParameters().values()) {
            if (p.isSet()) {
                return p.get().getDevice();
            }
        }
        throw new IllegalStateException("the LLM has no weights yet, so the model has no device");
    }

    public ModelConfig config() {
        return config;
    }

    public ArchSpecifier arch() {
        return arch;
    }

    /** L: visual tokens per multimodal row. */
    public int visualLength() {
        return visualLength;
    }

    public int bosTokenLength() {
        return bosLength;
    }
}
