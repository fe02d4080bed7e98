package dev.merv.llm.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.merv.core.config.LoraConfig;
import dev.merv.core.nn.Linear;
import dev.merv.core.nn.Module;
import dev.merv.core.nn.Param;
import dev.merv.core.torch.ScalarType;
import dev.merv.core.torch.Torch;
import dev.merv.llm.llama.LlamaModel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * LoRA on a {@link LlamaModel} (Llama 2 / Vicuna / Llama 3.x / Qwen2.5), as PEFT defines it: each target linear
 * layer {@code W} computes
 *
 * <pre>
 *   y = W x + b + lora_B(lora_A(dropout(x))) * scaling        scaling = alpha / r   (rsLoRA: alpha / sqrt(r))
 * </pre>
 *
 * with {@code lora_A.weight [r, in]} and {@code lora_B.weight [out, r]} mounted as children of the layer, so their
 * paths are PEFT's ({@code model.layers.0.self_attn.q_proj.lora_A.weight}). PEFT's initialisation
 * ({@link #initialize}): {@code A} Kaiming-uniform with {@code a = sqrt(5)}, which is {@code U(-1/sqrt(in),
 * 1/sqrt(in))}, and {@code B = 0}, so a freshly adapted model computes exactly what the base model computes.
 *
 * <p>What trains is decided by {@code Merv.applyStage}: an LLM carrying adapters trains only them, its own weights
 * stay frozen (held in the compute dtype, no gradient, no optimizer state). {@link #merge} folds the adapters into
 * the base weights ({@code W + scaling * B A}, computed in fp32 and rounded once to {@code W}'s dtype) and takes
 * them off. Adapter files in PEFT's layout are {@link PeftAdapters}.
 *
 * <p>Dropout (off by default) acts only in {@link #training training} mode. Its masks are drawn from libtorch's
 * generator reseeded, under a lock, from (the seed given to {@link #initialize}, the forward's serial number, the
 * adapted layer), so a layer recomputed during backward drops the same inputs as its first forward. The serial
 * numbers restart with the process: a resumed run draws other masks than an uninterrupted one would have.
 */
public final class Lora {

    /** The child names PEFT gives the two factors. */
    public static final String A = "lora_A";
    public static final String B = "lora_B";

    /** libtorch's default generator is process-wide: reseed-and-draw must not interleave between replicas. */
    private static final Object RNG = new Object();

    private final LoraConfig config;
    private final Map<String, Site> sites = new LinkedHashMap<>();
    private volatile boolean training;
    private volatile long seed;
    private volatile long forward;

    /** The adapter of one linear layer. */
    private static final class Site implements Linear.Adapter {
        final Lora owner;
        final String path;
        final int index;
        final Linear base;
        final Linear a;
        final Linear b;
        final Map<String, Module> modules = new LinkedHashMap<>();

        Site(Lora owner, String path, int index, Linear base, int r) {
            this.owner = owner;
            this.path = path;
            this.index = index;
            this.base = base;
            this.a = new Linear(base.inFeatures(), r, false);
            this.b = new Linear(r, base.outFeatures(), false);
            modules.put(A, a);
            modules.put(B, b);
        }

        @Override
        public Map<String, Module> modules() {
            return modules;
        }

        @Override
        public NDArray delta(NDArray x) {
            double p = owner.config.dropout();
            NDArray in = p > 0 && owner.training ? owner.drop(x, this, p) : x;
            NDArray ax = a.forward(in);
            NDArray bax = b.forward(ax);
            NDArray out = Torch.mulScalar(bax, owner.config.scaling());
            if (in != x) {
                in.close();
            }
            ax.close();
            bax.close();
            return out;
        }
    }

    private Lora(LoraConfig config) {
        this.config = config;
    }

    /**
     * Mounts fresh adapters (no values yet: {@link #initialize} or load them) on every linear layer of {@code model}
     * whose name is one of {@code config.targets()}.
     */
    public static Lora apply(LlamaModel model, LoraConfig config) {
        List<String> paths = new ArrayList<>();
        model.linears().keySet().forEach(p -> {
            if (config.targets().contains(leaf(p))) {
                paths.add(p);
            }
        });
        return apply(model, config, paths);
    }

    /**
     * Mounts fresh adapters on exactly the layers at {@code modulePaths} ({@link LlamaModel#linears()} paths, e.g.
     * the layers a PEFT file holds adapters for); each path's layer name must be one of {@code config.targets()}.
     */
    public static Lora apply(LlamaModel model, LoraConfig config, Collection<String> modulePaths) {
        Map<String, Linear> linears = model.linears();
        Lora lora = new Lora(config);
        List<String> problems = new ArrayList<>();
        for (String path : modulePaths) {
            Linear l = linears.get(path);
            if (l == null) {
                problems.add(path + " is no linear layer of " + model.id() + " (its layers are model.layers.0.."
                        + (model.numLayers() - 1) + " with " + LoraConfig.TARGETS + ")");
            } else if (!config.targets().contains(leaf(path))) {
                problems.add(path + " is not among lora.targets " + config.targets());
            } else if (l.adapter() != null) {
                problems.add(path + " already carries an adapter");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("cannot apply " + config + ": " + String.join("; ", problems));
        }
        // mount in the model's order whatever order the paths came in, so parameter order is the model's
        for (Map.Entry<String, Linear> e : linears.entrySet()) {
            if (modulePaths.contains(e.getKey())) {
                Site s = new Site(lora, e.getKey(), lora.sites.size(), e.getValue(), config.r());
                e.getValue().adapt(s);
                lora.sites.put(e.getKey(), s);
            }
        }
        if (config.dropout() > 0) {
            model.addLayerListener((fwd, layer) -> lora.forward = fwd);
        }
        return lora;
    }

    /**
     * PEFT's initialisation in fp32, owned by {@code manager}: {@code A ~ U(-1/sqrt(in), 1/sqrt(in))} (Kaiming-uniform
     * with {@code a = sqrt(5)}), {@code B = 0}. Reproducible from {@code seed}, which also seeds dropout.
     */
    public void initialize(long seed, NDManager manager) {
        this.seed = seed;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (Site s : sites.values()) {
            int in = s.base.inFeatures();
            double bound = 1.0 / Math.sqrt(in);
            float[] a = new float[config.r() * in];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
            }
            s.a.weight().set(manager.create(a, new Shape(config.r(), in)));
            s.b.weight().set(manager.zeros(new Shape(s.base.outFeatures(), config.r())));
        }
    }

    /** Casts the adapters' values to {@code dtype} (for inference in the LLM's compute dtype), owned by {@code manager}. */
    public void castTo(ScalarType dtype, NDManager manager) {
        for (Site s : sites.values()) {
            s.a.castTo(dtype, manager);
            s.b.castTo(dtype, manager);
        }
    }

    /** Dropout acts only while training (default off). */
    public Lora training(boolean on) {
        this.training = on;
        return this;
    }

    public LoraConfig config() {
        return config;
    }

    /** The adapted layers' module paths, in the model's order. */
    public List<String> modulePaths() {
        return List.copyOf(sites.keySet());
    }

    /** Every adapter parameter by its path in the LLM ({@code model.layers.0.self_attn.q_proj.lora_A.weight}). */
    public Map<String, Param> parameters() {
        Map<String, Param> out = new LinkedHashMap<>();
        for (Site s : sites.values()) {
            out.put(s.path + "." + A + ".weight", s.a.weight());
            out.put(s.path + "." + B + ".weight", s.b.weight());
        }
        return out;
    }

    /** Elements of all adapters: {@code r * (in + out)} per adapted layer. */
    public long parameterCount() {
        return parameters().values().stream().mapToLong(Param::numel).sum();
    }

    /**
     * Folds every LoRA adapter of {@code model} into its layer's weight, {@code W <- W + scaling * B A} (in fp32,
     * rounded once to {@code W}'s dtype), and takes the adapters off: the model is then a plain decoder that
     * computes the same up to that rounding, and {@link LlamaModel#saveHf} writes it. Returns how many layers were
     * merged.
     */
    public static int merge(LlamaModel model) {
        int n = 0;
        for (Linear l : model.linears().values()) {
            if (!(l.adapter() instanceof Site s)) {
                continue;
            }
            Param w = l.weight();
            NDArray old = w.get();
            ScalarType dtype = Torch.dtype(old);
            try (NDManager tmp = old.getManager().newSubManager(); var ng = Torch.noGrad()) {
                NDArray a = Torch.to(s.a.weight().get(), ScalarType.FLOAT32);
                NDArray b = Torch.to(s.b.weight().get(), ScalarType.FLOAT32);
                NDArray delta = Torch.mulScalar(Torch.matmul(b, a), s.owner.config.scaling());
                NDArray w32 = Torch.copy(old, ScalarType.FLOAT32);
                NDArray sum = w32.add(delta);
                NDArray merged = Torch.copy(sum, dtype);
                for (NDArray t : new NDArray[] {a, b, delta, w32, sum}) {
                    t.attach(tmp);
                }
                merged.attach(old.getManager());
                boolean trains = w.trainable();
                w.set(merged);
                w.setTrainable(trains);
            }
            l.removeAdapter();
            s.a.weight().get().close();
            s.b.weight().get().close();
            s.owner.sites.remove(s.path);
            n++;
        }
        return n;
    }

    /** Takes every adapter of this LoRA off its layer without merging it (the model computes as before it was applied). */
    public void remove() {
        for (Site s : List.copyOf(sites.values())) {
            s.base.removeAdapter();
            for (Linear l : List.of(s.a, s.b)) {
                if (l.weight().isSet()) {
                    l.weight().get().close();
                }
            }
        }
        sites.clear();
    }

    /** The LoRA adapters mounted on {@code model}, or null when it has none. */
    public static Lora of(LlamaModel model) {
        for (Linear l : model.linears().values()) {
            if (l.adapter() instanceof Site s) {
                return s.owner;
            }
        }
        return null;
    }

    private NDArray drop(NDArray x, Site s, double p) {
        long key = mix(mix(mix(seed, forward), s.index), 0x1f0a_3c5dL);
        synchronized (RNG) {
            JniUtils.setSeed(key);
            return JniUtils.dropout((PtNDArray) x, p, true);
        }
    }

    /** One SplitMix64 round over {@code h ^ v}: keys that differ in any input differ everywhere. */
    private static long mix(long h, long v) {
        long z = h ^ (v + 0x9e3779b97f4a7c15L);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static String leaf(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }
}
