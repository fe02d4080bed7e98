package dev.merv.llm.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.merv.core.model.LanguageModel;
import dev.merv.core.model.MaskLayout;
import dev.merv.core.nn.Embedding;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.ModuleList;
import dev.merv.core.nn.Param;
import dev.merv.core.nn.RmsNorm;
import dev.merv.core.nn.RotaryEmbedding;
import dev.merv.core.text.TextPipeline;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.core.weights.WeightLoader;
import dev.merv.core.weights.WeightSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * The one decoder shared by Llama 2, Vicuna v1.5, Llama 3 / 3.1 and Qwen2.5 ({@code LlamaForCausalLM} /
 * {@code Qwen2ForCausalLM}): embeddings, pre-norm layers of RoPE attention (GQA) and SwiGLU MLP, a final
 * RMSNorm and an untied or tied LM head. Module paths equal the HF {@code state_dict} names; the
 * checkpoint table is nevertheless written out in {@link #weightTable()}.
 *
 * <p>Precision: the weights' dtype (fp32 or bf16) is the compute dtype. RMSNorm computes its variance in
 * fp32, attention's softmax accumulates in fp32 inside the fused kernel, rotary tables are built in fp32 and
 * cast (as HF does), and {@link #head} returns fp32 logits (HF 4.44's {@code logits.float()}), which is what
 * the loss needs.
 *
 * <p>The model owns an {@link NDManager} for its weights; {@link #close} frees them.
 */
public final class LlamaModel extends Module implements LanguageModel, AutoCloseable {

    /** The HF {@code model.} sub-module: embeddings, layers, final norm. */
    static final class Backbone extends Module {
        final Embedding embedTokens;
        final ModuleList<LlamaDecoderLayer> layers;
        final RmsNorm norm;

        Backbone(LlamaConfig c) {
            embedTokens = child("embed_tokens", new Embedding(c.vocabSize(), c.hiddenSize()));
            layers = child("layers", new ModuleList<>());
            for (int i = 0; i < c.numLayers(); i++) {
                layers.add(new LlamaDecoderLayer(c));
            }
            norm = child("norm", new RmsNorm(c.hiddenSize(), (float) c.rmsNormEps()));
        }
    }

    private final String id;
    private final LlamaConfig config;
    private final Backbone model;
    private final Linear lmHead;
    private final RotaryEmbedding rope;
    private final NDManager manager;
    private TextPipeline text;
    private NDArray invFreq;
    private final java.util.concurrent.atomic.AtomicLong forwards = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.List<LayerListener> layerListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    /**
     * Told before each decoder layer runs which forward it belongs to (a serial number per {@link #prepare}) and
     * which layer it is; a layer rerun for recomputation gets the same two numbers. LoRA's dropout draws its
     * masks from them, so a recomputed layer drops the same inputs.
     */
    @FunctionalInterface
    public interface LayerListener {
        void beforeLayer(long forward, int layer);
    }

    /** An empty model (no weights yet) whose weights will live in a sub-manager of {@code parent}. */
    public LlamaModel(String id, LlamaConfig config, NDManager parent) {
        this.id = id;
        this.config = config;
        this.model = child("model", new Backbone(config));
        this.lmHead = config.tieWordEmbeddings() ? null
                : child("lm_head", new Linear(config.hiddenSize(), config.vocabSize(), false));
        RopeScaling s = config.ropeScaling();
        this.rope = s == null ? RotaryEmbedding.standard(config.headDim(), config.ropeTheta())
                : RotaryEmbedding.llama3(config.headDim(), config.ropeTheta(), s.factor(), s.lowFreqFactor(),
                        s.highFreqFactor(), s.originalMaxPositionEmbeddings());
        this.manager = parent.newSubManager();
    }

    public LlamaConfig config() {
        return config;
    }

    public RotaryEmbedding rope() {
        return rope;
    }

    /** Owner of the weights. */
    public NDManager manager() {
        return manager;
    }

    // ----------------------------------------------------------------------------- weights

    /**
     * Checkpoint name to parameter, spelled out as HF writes {@code LlamaForCausalLM}/{@code Qwen2ForCausalLM}
     * state dicts. {@code lm_head.weight} is absent when the embeddings are tied.
     */
    public Map<String, Param> weightTable() {
        Map<String, Param> t = new LinkedHashMap<>();
        t.put("model.embed_tokens.weight", model.embedTokens.weight());
        for (int i = 0; i < config.numLayers(); i++) {
            LlamaDecoderLayer l = model.layers.get(i);
            String p = "model.layers." + i + ".";
            putLinear(t, p + "self_attn.q_proj", l.selfAttn.qProj());
            putLinear(t, p + "self_attn.k_proj", l.selfAttn.kProj());
            putLinear(t, p + "self_attn.v_proj", l.selfAttn.vProj());
            putLinear(t, p + "self_attn.o_proj", l.selfAttn.oProj());
            putLinear(t, p + "mlp.gate_proj", l.mlp.gateProj());
            putLinear(t, p + "mlp.up_proj", l.mlp.upProj());
            putLinear(t, p + "mlp.down_proj", l.mlp.downProj());
            t.put(p + "input_layernorm.weight", l.inputNorm.weight());
            t.put(p + "post_attention_layernorm.weight", l.postAttnNorm.weight());
        }
        t.put("model.norm.weight", model.norm.weight());
        if (lmHead != null) {
            t.put("lm_head.weight", lmHead.weight());
        }
        return t;
    }

    /**
     * The linear layers of every decoder layer by their HF module path ({@code model.layers.0.self_attn.q_proj},
     * ..., {@code model.layers.0.mlp.down_proj}), attention before MLP, layer by layer: where LoRA adapters go.
     */
    public Map<String, Linear> linears() {
        Map<String, Linear> t = new LinkedHashMap<>();
        for (int i = 0; i < config.numLayers(); i++) {
            LlamaDecoderLayer l = model.layers.get(i);
            String p = "model.layers." + i + ".";
            t.put(p + "self_attn.q_proj", l.selfAttn.qProj());
            t.put(p + "self_attn.k_proj", l.selfAttn.kProj());
            t.put(p + "self_attn.v_proj", l.selfAttn.vProj());
            t.put(p + "self_attn.o_proj", l.selfAttn.oProj());
            t.put(p + "mlp.gate_proj", l.mlp.gateProj());
            t.put(p + "mlp.up_proj", l.mlp.upProj());
            t.put(p + "mlp.down_proj", l.mlp.downProj());
        }
        return t;
    }

    /** Adds a {@link LayerListener}. */
    public void addLayerListener(LayerListener l) {
        layerListeners.add(l);
    }

    private static void putLinear(Map<String, Param> t, String prefix, Linear l) {
        t.put(prefix + ".weight", l.weight());
        if (l.bias() != null) {
            t.put(prefix + ".bias", l.bias());
        }
    }

    /** Names a checkpoint may hold that carry nothing the model needs (non-persistent RoPE buffers, a tied head). */
    public boolean ignorable(String name) {
        return name.endsWith("rotary_emb.inv_freq") || (lmHead == null && name.equals("lm_head.weight"));
    }

    /**
     * Loads every weight from {@code source} (strict: missing or mis-shaped names fail, all listed), floating
     * tensors converted to {@code dtype}.
     */
    public WeightLoader.Report load(WeightSource source, ScalarType dtype) {
        return WeightLoader.load(source, weightTable(), manager, dtype, true, this::ignorable);
    }

    /**
     * Loads a checkpoint whose embedding and LM head have fewer rows than this model (the reference's
     * {@code resize_token_embeddings} after adding {@code <PAD>}): the stored rows are copied, the new rows
     * drawn from {@code Normal(0, initializerRange)} as transformers 4.44's {@code _init_weights} does.
     */
    public WeightLoader.Report loadResized(WeightSource source, ScalarType dtype, double initializerRange, long seed) {
        Map<String, Param> table = weightTable();
        Map<String, Param> rest = new LinkedHashMap<>(table);
        Param emb = rest.remove("model.embed_tokens.weight");
        Param head = rest.remove("lm_head.weight");
        WeightLoader.Report r = WeightLoader.load(source, rest, manager, dtype, true,
                n -> ignorable(n) || n.equals("model.embed_tokens.weight") || n.equals("lm_head.weight"));
        Random rnd = new Random(seed);
        loadRows(source, "model.embed_tokens.weight", emb, dtype, initializerRange, rnd);
        if (head != null) {
            loadRows(source, "lm_head.weight", head, dtype, initializerRange, rnd);
        }
        return r;
    }

    private void loadRows(WeightSource source, String name, Param p, ScalarType dtype, double std, Random rnd) {
        if (!source.names().contains(name)) {
            throw new IllegalArgumentException(source.describe() + ": missing " + name);
        }
        long[] have = source.info(name).shape();
        long rows = p.shape().get(0);
        long dim = p.shape().get(1);
        if (have.length != 2 || have[1] != dim || have[0] > rows) {
            throw new IllegalArgumentException(source.describe() + ": " + name + " has shape "
                    + java.util.Arrays.toString(have) + ", cannot grow to " + p.shape());
        }
        try (NDManager tmp = manager.newSubManager()) {
            NDArray stored = source.load(name, tmp, ScalarType.FLOAT32);
            float[] extra = new float[(int) ((rows - have[0]) * dim)];
            for (int i = 0; i < extra.length; i++) {
                extra[i] = (float) (rnd.nextGaussian() * std);
            }
            NDArray grown = extra.length == 0 ? stored
                    : stored.concat(tmp.create(extra, new Shape(rows - have[0], dim)), 0);
            NDArray v = dtype == null || dtype == ScalarType.FLOAT32 ? grown.duplicate() : Torch.copy(grown, dtype);
            v.attach(manager);
            p.set(v);
        }
    }

    /**
     * Writes this model as an HF checkpoint directory: {@code config.json} ({@link LlamaConfig#toHfJson})
     * and {@code model.safetensors} under the HF names of {@link #weightTable}, each in its current dtype,
     * written atomically. Tokenizer files are not written (copy them from where the tokenizer came from).
     */
    public void saveHf(java.nio.file.Path dir) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        weightTable().forEach((n, p) -> tensors.put(n, p.get()));
        try {
            java.nio.file.Files.createDirectories(dir);
            dev.merv.core.weights.SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
            dev.merv.core.io.AtomicFiles.writeString(dir.resolve("config.json"),
                    new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(config.toHfJson()));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write the HF checkpoint " + dir, e);
        }
    }

    /**
     * Random weights for tests and benchmarks: matrices {@code Normal(0, 0.02)}, norm weights 1, biases 0,
     * reproducible from {@code seed}.
     */
    public void initRandom(long seed, ScalarType dtype) {
        Random rnd = new Random(seed);
        for (Map.Entry<String, Param> e : namedParameters().entrySet()) {
            Param p = e.getValue();
            Shape s = p.shape();
            float[] v = new float[(int) s.size()];
            if (e.getKey().endsWith("layernorm.weight") || e.getKey().endsWith("norm.weight")) {
                java.util.Arrays.fill(v, 1f);
            } else if (!e.getKey().endsWith(".bias")) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (rnd.nextGaussian() * 0.02);
                }
            }
            NDArray a = manager.create(v, s);
            if (dtype != ScalarType.FLOAT32) {
                NDArray c = Torch.copy(a, dtype);
                a.close();
                a = c;
            }
            p.set(a);
        }
    }

    /** The dtype activations are computed in: that of the embedding weights. */
    public ScalarType computeDtype() {
        return model.embedTokens.weight().dtype();
    }

    // ------------------------------------------------------------------------ LanguageModel

    @Override
    public String id() {
        return id;
    }

    @Override
    public int embedDim() {
        return config.hiddenSize();
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int numLayers() {
        return config.numLayers();
    }

    @Override
    public NDArray embed(NDArray inputIds) {
        NDArray e = model.embedTokens.forward(inputIds);
        // the bridge attaches results to the first tensor's manager, here the weights' owner
        e.attach(inputIds.getManager());
        return e;
    }

    @Override
    public LayerContext prepare(NDArray attentionMask, NDArray positions, KvCache cache, int seqLen) {
        return prepare(attentionMask, positions, cache, seqLen, MaskLayout.ANY);
    }

    @Override
    public LayerContext prepare(NDArray attentionMask, NDArray positions, KvCache cache, int seqLen, MaskLayout layout) {
        if (cache != null && !(cache instanceof DecoderKvCache)) {
            throw new IllegalArgumentException("cache was not made by this model's newCache()");
        }
        NDManager owner = attentionMask != null ? attentionMask.getManager()
                : positions != null ? positions.getManager() : manager;
        int batch = attentionMask != null ? (int) attentionMask.getShape().get(0)
                : positions != null && positions.getShape().dimension() == 2 ? (int) positions.getShape().get(0)
                : cache != null ? ((DecoderKvCache) cache).batch() : 1;
        return new DecoderContext(owner, rope, invFreq(), computeDtype(), attentionMask, positions,
                (DecoderKvCache) cache, batch, seqLen, layout, forwards.getAndIncrement());
    }

    /** The rotary inverse frequencies on the model's device, uploaded once (every forward's tables start from them). */
    private synchronized NDArray invFreq() {
        if (invFreq == null || invFreq.isReleased()) {
            invFreq = rope.invFreqOn(manager);
        }
        return invFreq;
    }

    @Override
    public NDArray layer(int index, NDArray hidden, LayerContext ctx) {
        DecoderContext c = (DecoderContext) ctx;
        for (LayerListener l : layerListeners) {
            l.beforeLayer(c.serial, index);
        }
        return model.layers.get(index).forward(hidden, c, index);
    }

    @Override
    public NDArray head(NDArray hidden) {
        NDArray h = norm(model.norm, hidden);
        NDArray logits = lmHead != null ? lmHead.forward(h) : Torch.linear(h, model.embedTokens.weight().get(), null);
        return Torch.to(logits, ScalarType.FLOAT32);
    }

    /** The final norm alone ({@code [B, T, D]}, compute dtype), for callers that want hidden states. */
    public NDArray finalNorm(NDArray hidden) {
        return norm(model.norm, hidden);
    }

    @Override
    public KvCache newCache(int batch, int maxLen) {
        return new DecoderKvCache(manager, config, batch, maxLen, computeDtype());
    }

    @Override
    public TextPipeline text() {
        if (text == null) {
            throw new IllegalStateException("LLM '" + id + "' has no text pipeline; build it through LlmRegistry"
                    + " or attach one with withText(...)");
        }
        return text;
    }

    public LlamaModel withText(TextPipeline pipeline) {
        this.text = pipeline;
        return this;
    }

    @Override
    public Module module() {
        return this;
    }

    @Override
    public void close() {
        manager.close();
    }

    /** RMSNorm whose result stays with the activations' manager (core RmsNorm's last op is owned by the weight's). */
    static NDArray norm(RmsNorm n, NDArray x) {
        NDArray y = n.forward(x);
        if (y.getManager() != x.getManager()) {
            y.attach(x.getManager());
        }
        return y;
    }

    /** A {@code [B, T]} int64 tensor of {@code ids} rows (equal lengths) in {@code m}. */
    public static NDArray ids(NDManager m, long[][] rows) {
        int t = rows[0].length;
        long[] flat = new long[rows.length * t];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, flat, i * t, t);
        }
        return m.create(flat, new Shape(rows.length, t)).toType(DataType.INT64, false);
    }
}
