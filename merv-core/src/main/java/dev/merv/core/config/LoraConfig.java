package dev.merv.core.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Low-rank adapters on the LLM (LoRA, as PEFT defines it): every target linear layer {@code W} of every
 * decoder layer computes {@code W x + B A x * scaling} with {@code A [r, in]}, {@code B [out, r]} and
 * {@code scaling = alpha / r} ({@code alpha / sqrt(r)} with rsLoRA); only {@code A} and {@code B} train, the
 * LLM's own weights stay frozen. The adapters themselves are merv-llm's {@code dev.merv.llm.lora.Lora}.
 *
 * <p>On the command line: {@code --lora.r 128 --lora.alpha 256 [--lora.dropout 0.05]
 * [--lora.targets [q_proj,k_proj,v_proj,o_proj]] [--lora.rslora true]}. A config that cannot work fails at
 * construction, naming the {@code lora.*} field.
 *
 * @param r the rank
 * @param alpha PEFT's {@code lora_alpha}
 * @param dropout dropout on the adapter's input while training (PEFT's {@code lora_dropout}); 0 = none
 * @param targets the linear layers that get adapters, by their HF names (default: all of {@link #TARGETS})
 * @param rslora scale by {@code alpha / sqrt(r)} (rank-stabilised LoRA) instead of {@code alpha / r}
 */
public record LoraConfig(int r, double alpha, double dropout, List<String> targets, boolean rslora) {

    /** Every linear layer of a Llama / Qwen2 decoder layer, attention then MLP, by its HF name. */
    public static final List<String> TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");

    public LoraConfig {
        targets = targets == null ? TARGETS : List.copyOf(targets);
        List<String> problems = new ArrayList<>();
        if (r < 1) {
            problems.add("lora.r=" + r + " must be a positive rank (e.g. 128)");
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            problems.add("lora.alpha=" + alpha + " must be a positive number (e.g. 2 x lora.r)");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            problems.add("lora.dropout=" + dropout + " must be in [0, 1)");
        }
        if (targets.isEmpty()) {
            problems.add("lora.targets is empty; name at least one of " + TARGETS);
        }
        List<String> unknown = targets.stream().filter(t -> !TARGETS.contains(t)).toList();
        if (!unknown.isEmpty()) {
            problems.add("lora.targets " + unknown + " are not linear layers of the LLM; the valid names are " + TARGETS);
        }
        if (targets.stream().distinct().count() != targets.size()) {
            problems.add("lora.targets " + targets + " names a layer twice");
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
    }

    /** Rank {@code r} and {@code alpha} on every linear layer, no dropout, {@code alpha / r} scaling. */
    public static LoraConfig of(int r, double alpha) {
        return new LoraConfig(r, alpha, 0.0, TARGETS, false);
    }

    public LoraConfig withDropout(double p) {
        return new LoraConfig(r, alpha, p, targets, rslora);
    }

    public LoraConfig withTargets(List<String> t) {
        return new LoraConfig(r, alpha, dropout, t, rslora);
    }

    public LoraConfig withRslora(boolean on) {
        return new LoraConfig(r, alpha, dropout, targets, on);
    }

    /** The factor of {@code B A x}: {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA. */
    public double scaling() {
        return rslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    /**
     * The config of {@code --lora.<field> value} flags, given here without the {@code lora.} prefix
     * ({@code r}, {@code alpha}, {@code dropout}, {@code targets}, {@code rslora}); {@code r} and {@code alpha} are
     * required. Fails naming the flag.
     */
    public static LoraConfig fromFlags(Map<String, String> flags) {
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("dropout", 0.0);
        values.put("targets", TARGETS);
        values.put("rslora", false);
        for (Map.Entry<String, String> f : flags.entrySet()) {
            var c = RecordFields.component(LoraConfig.class, f.getKey());
            if (c == null) {
                throw new ConfigException("unknown flag --lora." + f.getKey() + "; lora.* fields are "
                        + RecordFields.names(LoraConfig.class));
            }
            Object v = RecordFields.parse(c.getGenericType(), f.getValue(), "lora." + f.getKey());
            if (v instanceof List<?> l) {
                v = l.stream().map(x -> RecordFields.unquote(x.toString().trim())).toList();
            }
            values.put(f.getKey(), v);
        }
        List<String> missing = new ArrayList<>();
        for (String req : List.of("r", "alpha")) {
            if (values.get(req) == null) {
                missing.add("--lora." + req);
            }
        }
        if (!missing.isEmpty()) {
            throw new ConfigException("LoRA needs " + String.join(" and ", missing) + " (e.g. --lora.r 128 --lora.alpha 256,"
                    + " the LLaVA / Video-LLaVA recipe)");
        }
        return RecordFields.build(LoraConfig.class, values);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "LoRA r=%d alpha=%s%s dropout=%s on %s", r, trim(alpha),
                rslora ? " (rsLoRA)" : "", trim(dropout), targets);
    }

    private static String trim(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
