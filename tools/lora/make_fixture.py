"""Makes merv-llm's LoRA fixture (maintainer tool; tests never run it).

Run from the repository root inside an environment with PyTorch and safetensors (no transformers, no peft):

    python3 tools/lora/make_fixture.py [OUT_DIR] [--seed N] [--hidden D --intermediate I --layers L --heads H
        --kv-heads K --vocab V --r R --alpha A --seq T]

OUT_DIR defaults to merv-llm/src/test/resources/own-fixtures/lora-llama-tiny. Everything is seeded.

What it computes, with plain PyTorch: a tiny Llama decoder (HF LlamaForCausalLM's maths: RMSNorm in fp32,
rotate-half RoPE, GQA, eager attention with the causal and key-padding mask, SwiGLU MLP, untied LM head,
HF's shifted cross-entropy) whose linear layers carry LoRA adapters with PEFT's formula

    y = W x + lora_B(lora_A(x)) * scaling,      scaling = lora_alpha / r  (use_rslora: lora_alpha / sqrt(r))

A is drawn as PEFT initialises it (kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in))); B, which PEFT
starts at zero, is drawn non-zero here so that the adapters change the output and both factors get gradients.
Every output is computed in float32 and again in float64; tolerances are 10x the difference (floor 1e-6,
output.* at least 1e-5), as the other golden fixtures.

Files (the fixture layout of merv's tests, plus two adapter directories in PEFT's file layout, written with
safetensors and json alone, as PEFT's save_pretrained writes them):

  config.json        HF config of the base decoder + "fixture_kind"
  model.safetensors  the base weights, HF names
  io.safetensors     input.{input_ids,attention_mask,labels}; output.logits_base (no adapters);
                     output.logits / output.loss (adapters of peft/); output.logits_merged (W + scaling*B@A
                     folded in); grad.<module>.lora_{A,B}.weight (d loss / d factor, every adapted layer);
                     output.logits_rslora (adapters of peft-rslora/)
  peft/              adapter_config.json + adapter_model.safetensors: r, alpha, every linear layer
  peft-rslora/       the same with use_rslora, another rank and alpha, and target_modules given as a regex
                     (q_proj and v_proj only)
  meta.json          shapes, tolerances, the LoRA settings of both adapters, notes

--check-against DIR runs the plain decoder (no adapters) on an HF-layout golden fixture (e.g. merv-llm's
llama2-tiny) and fails unless its logits match that fixture's: the decoder here is the one the LLM fixtures
describe.
"""

import argparse
import json
import math
import os

import torch
from safetensors.torch import load_file, save_file

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 48,
    "intermediate_size": 80,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "max_position_embeddings": 2048,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "rope_scaling": None,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "mlp_bias": False,
    "tie_word_embeddings": False,
    "vocab_size": 96,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
    "initializer_range": 0.02,
    "use_cache": False,
    "torch_dtype": "float32",
}

# the adapters of peft/ and peft-rslora/
MAIN = {"r": 4, "lora_alpha": 8, "use_rslora": False, "target_modules": TARGETS}
RSLORA = {"r": 3, "lora_alpha": 5, "use_rslora": True, "target_modules": r".*\.(q_proj|v_proj)$",
          "targets": ["q_proj", "v_proj"]}


def scaling(a):
    return a["lora_alpha"] / (math.sqrt(a["r"]) if a["use_rslora"] else a["r"])


# ------------------------------------------------------------------------------ the decoder

def linears(cfg):
    """HF module path -> (in, out) of every linear layer of every decoder layer, in merv's order."""
    d, i = cfg["hidden_size"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or d // cfg["num_attention_heads"]
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    out = {}
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        out[p + "self_attn.q_proj"] = (d, q)
        out[p + "self_attn.k_proj"] = (d, kv)
        out[p + "self_attn.v_proj"] = (d, kv)
        out[p + "self_attn.o_proj"] = (q, d)
        out[p + "mlp.gate_proj"] = (d, i)
        out[p + "mlp.up_proj"] = (d, i)
        out[p + "mlp.down_proj"] = (i, d)
    return out


def rms(x, w, eps):
    xf = x.to(w.dtype) if x.dtype == torch.float64 else x.float()
    v = xf.pow(2).mean(-1, keepdim=True)
    return w * (xf * torch.rsqrt(v + eps)).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


def forward(cfg, w, ids, mask, adapters=None, dtype=torch.float32):
    """Logits [B, T, V] of the decoder with weights w (HF names); adapters: path -> (A, B, scaling)."""
    adapters = adapters or {}
    d = cfg["hidden_size"]
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // nh
    eps = cfg["rms_norm_eps"]
    b, t = ids.shape

    def lin(path, x):
        y = x @ w[path + ".weight"].T
        if path + ".bias" in w:
            y = y + w[path + ".bias"]
        if path in adapters:
            a, bb, s = adapters[path]
            y = y + (x @ a.T @ bb.T) * s
        return y

    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    ang = torch.outer(torch.arange(t, dtype=torch.float32), inv)
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None] & mask.bool()[:, None, None, :]
    h = w["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        x = rms(h, w[p + "input_layernorm.weight"], eps)
        q = lin(p + "self_attn.q_proj", x).view(b, t, nh, hd).transpose(1, 2)
        k = lin(p + "self_attn.k_proj", x).view(b, t, nkv, hd).transpose(1, 2)
        v = lin(p + "self_attn.v_proj", x).view(b, t, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores.masked_fill(~allowed, torch.finfo(dtype).min)
        attn = torch.softmax(scores, dim=-1) @ v
        h = h + lin(p + "self_attn.o_proj", attn.transpose(1, 2).reshape(b, t, nh * hd))
        x = rms(h, w[p + "post_attention_layernorm.weight"], eps)
        gate = lin(p + "mlp.gate_proj", x)
        h = h + lin(p + "mlp.down_proj", torch.nn.functional.silu(gate) * lin(p + "mlp.up_proj", x))
    h = rms(h, w["model.norm.weight"], eps)
    return h @ w["lm_head.weight"].T


def loss_of(logits, labels):
    """HF's causal LM loss: shift left, mean cross-entropy over targets != -100."""
    v = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, v), labels[:, 1:].reshape(-1),
                                             ignore_index=-100)


# ------------------------------------------------------------------------------ weights and adapters

def base_weights(cfg, g):
    """Random but not default-initialised: matrices N(0, 1/fan_in), norm weights 1 + 0.1 N(0, 1)."""
    w = {}
    d, vsz = cfg["hidden_size"], cfg["vocab_size"]
    w["model.embed_tokens.weight"] = torch.randn(vsz, d, generator=g)
    for path, (i, o) in linears(cfg).items():
        w[path + ".weight"] = torch.randn(o, i, generator=g) / math.sqrt(i)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(d, generator=g)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d, generator=g)
    w["model.norm.weight"] = 1 + 0.1 * torch.randn(d, generator=g)
    w["lm_head.weight"] = torch.randn(vsz, d, generator=g) / math.sqrt(d)
    return w


def lora_factors(cfg, spec, targets, g):
    """PEFT's A (kaiming_uniform_ a=sqrt(5) = U(-1/sqrt(in), 1/sqrt(in))) and a non-zero B, per adapted layer."""
    out = {}
    r = spec["r"]
    for path, (i, o) in linears(cfg).items():
        if path.rsplit(".", 1)[1] not in targets:
            continue
        a = (torch.rand(r, i, generator=g) * 2 - 1) / math.sqrt(i)
        b = 0.3 * torch.randn(o, r, generator=g) / math.sqrt(r)
        out[path] = (a, b)
    return out


def write_peft(dirname, spec, factors, base_name):
    """A PEFT adapter directory as peft's save_pretrained lays it out (keys without the adapter name)."""
    os.makedirs(dirname, exist_ok=True)
    tensors = {}
    for path, (a, b) in factors.items():
        tensors["base_model.model.%s.lora_A.weight" % path] = a.contiguous()
        tensors["base_model.model.%s.lora_B.weight" % path] = b.contiguous()
    save_file(tensors, os.path.join(dirname, "adapter_model.safetensors"), metadata={"format": "pt"})
    config = {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": base_name, "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "layer_replication": None,
        "layers_pattern": None, "layers_to_transform": None, "loftq_config": {}, "lora_alpha": spec["lora_alpha"],
        "lora_dropout": 0.0, "megatron_config": None, "megatron_core": "megatron.core", "modules_to_save": None,
        "peft_type": "LORA", "r": spec["r"], "rank_pattern": {}, "revision": None,
        "target_modules": spec["target_modules"], "task_type": "CAUSAL_LM", "use_dora": False,
        "use_rslora": spec["use_rslora"],
    }
    with open(os.path.join(dirname, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


# ------------------------------------------------------------------------------ main

def check_against(fixture):
    cfg = json.load(open(os.path.join(fixture, "config.json")))
    w = load_file(os.path.join(fixture, "model.safetensors"))
    io = load_file(os.path.join(fixture, "io.safetensors"))
    logits = forward(cfg, w, io["input.input_ids"], io["input.attention_mask"])
    diff = (logits - io["output.logits"]).abs().max().item()
    loss = loss_of(logits, io["input.labels"]).item()
    print("check against %s: max |logits - fixture| = %.3g, loss %.6f vs %.6f"
          % (fixture, diff, loss, io["output.loss"].item()))
    if diff > 5e-5 or abs(loss - io["output.loss"].item()) > 1e-5:
        raise SystemExit("the plain decoder does not reproduce " + fixture)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="merv-llm/src/test/resources/own-fixtures/lora-llama-tiny")
    ap.add_argument("--seed", type=int, default=151)
    ap.add_argument("--check-against", default=None)
    # other shapes, for a held-back fixture set (defaults: the committed fixture)
    for flag, key in [("--hidden", "hidden_size"), ("--intermediate", "intermediate_size"), ("--layers", "num_hidden_layers"),
                      ("--heads", "num_attention_heads"), ("--kv-heads", "num_key_value_heads"), ("--vocab", "vocab_size")]:
        ap.add_argument(flag, type=int, default=CONFIG[key], dest=key)
    ap.add_argument("--r", type=int, default=MAIN["r"])
    ap.add_argument("--alpha", type=int, default=MAIN["lora_alpha"])
    ap.add_argument("--seq", type=int, default=12)
    a = ap.parse_args()
    if a.check_against:
        check_against(a.check_against)
    cfg = dict(CONFIG)
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                "vocab_size"):
        cfg[key] = getattr(a, key)
    MAIN["r"], MAIN["lora_alpha"] = a.r, a.alpha
    g = torch.Generator().manual_seed(a.seed)
    w = base_weights(cfg, g)
    main_factors = lora_factors(cfg, MAIN, MAIN["target_modules"], g)
    rs_factors = lora_factors(cfg, RSLORA, RSLORA["targets"], g)
    b, t = 2, a.seq
    ids = torch.randint(3, cfg["vocab_size"], (b, t), generator=g)
    mask = torch.ones(b, t, dtype=torch.int64)
    mask[1, t - 3:] = 0
    labels = ids.clone()
    labels[:, :4] = -100
    labels[mask == 0] = -100

    def run(dtype):
        wd = {k: v.to(dtype) for k, v in w.items()}
        s_main, s_rs = scaling(MAIN), scaling(RSLORA)
        ad = {p: (fa.detach().to(dtype).clone().requires_grad_(True), fb.detach().to(dtype).clone().requires_grad_(True),
                  s_main)
              for p, (fa, fb) in main_factors.items()}
        with torch.no_grad():
            base = forward(cfg, wd, ids, mask, None, dtype)
            merged_w = dict(wd)
            for p, (fa, fb, s) in ad.items():
                merged_w[p + ".weight"] = wd[p + ".weight"] + s * (fb @ fa)
            merged = forward(cfg, merged_w, ids, mask, None, dtype)
            rs = forward(cfg, wd, ids, mask, {p: (fa.to(dtype), fb.to(dtype), s_rs)
                                              for p, (fa, fb) in rs_factors.items()}, dtype)
        logits = forward(cfg, wd, ids, mask, ad, dtype)
        loss = loss_of(logits, labels)
        loss.backward()
        out = {"output.logits_base": base, "output.logits": logits.detach(), "output.loss": loss.detach(),
               "output.logits_merged": merged, "output.logits_rslora": rs}
        for p, (fa, fb, _) in ad.items():
            out["grad.%s.lora_A.weight" % p] = fa.grad
            out["grad.%s.lora_B.weight" % p] = fb.grad
        return out

    out32 = run(torch.float32)
    out64 = run(torch.float64)
    tolerances, diffs = {}, {}
    for k, v in out32.items():
        dv = (v.double() - out64[k]).abs().max().item()
        diffs[k] = dv
        floor = 1e-5 if k.startswith("output.") else 1e-6
        tolerances[k] = {"atol": float("%.1g" % max(10 * dv, floor)), "rtol": 1e-4}

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(dict(cfg, fixture_kind="hf-causal-lm+lora"), f, indent=2)
    save_file({k: v.contiguous() for k, v in w.items()}, os.path.join(a.out, "model.safetensors"),
              metadata={"format": "pt"})
    io = {"input.input_ids": ids, "input.attention_mask": mask, "input.labels": labels}
    io.update({k: v.contiguous() for k, v in out32.items()})
    save_file(io, os.path.join(a.out, "io.safetensors"))
    base_name = "merv-fixture/lora-llama-tiny"
    write_peft(os.path.join(a.out, "peft"), MAIN, main_factors, base_name)
    write_peft(os.path.join(a.out, "peft-rslora"), RSLORA, rs_factors, base_name)
    grads = sorted(k for k in out32 if k.startswith("grad."))
    meta = {
        "name": os.path.basename(os.path.normpath(a.out)),
        "component": "LoRA (PEFT's formula and initialisation) on a LlamaForCausalLM decoder",
        "reference": "plain PyTorch, tools/lora/make_fixture.py (decoder maths as the llama*-tiny fixtures; LoRA as"
                     " peft.tuners.lora.layer.Linear: result + lora_B(lora_A(dropout(x))) * scaling)",
        "seed": a.seed, "dtype": "float32", "atol": 1e-5, "rtol": 1e-4, "grad_atol": 1e-6,
        "tolerance_rule": "|java - expected| <= atol + rtol*|expected| elementwise; per-tensor values in"
                          " 'tolerances' (10x the measured fp32-vs-fp64 difference, floor 1e-6, output.* 1e-5)",
        "tolerances": tolerances, "fp32_vs_fp64_max_abs_diff": diffs,
        "inputs": sorted(k for k in io if k.startswith("input.")),
        "outputs": sorted(k for k in out32 if k.startswith("output.")),
        "grads": grads,
        "shapes": {k: list(v.shape) for k, v in io.items()},
        "lora": {
            "peft": {"r": MAIN["r"], "lora_alpha": MAIN["lora_alpha"], "use_rslora": MAIN["use_rslora"],
                     "targets": MAIN["target_modules"], "scaling": scaling(MAIN),
                     "adapted_layers": sorted(main_factors)},
            "peft-rslora": {"r": RSLORA["r"], "lora_alpha": RSLORA["lora_alpha"], "use_rslora": True,
                            "targets": RSLORA["targets"], "scaling": scaling(RSLORA),
                            "adapted_layers": sorted(rs_factors)},
        },
        "notes": "Decoder: HF LlamaForCausalLM maths in fp32 (RMSNorm in fp32, rotate-half RoPE with position_ids ="
                 " arange(T), GQA by repeating kv heads, eager attention with causal AND key-padding mask, masked"
                 " scores = finfo.min, softmax, SwiGLU, untied LM head); row 1 is right-padded. Loss = mean"
                 " cross-entropy of logits[:, :-1] against labels[:, 1:] over labels != -100. LoRA per adapted"
                 " linear layer: y = x W^T + ((x A^T) B^T) * scaling, A [r, in], B [out, r], scaling = lora_alpha / r"
                 " (use_rslora: lora_alpha / sqrt(r)), dropout 0. output.logits and grad.* use peft/'s adapters;"
                 " output.logits_merged folds them into the weights (W + scaling * B @ A) and runs the plain decoder;"
                 " output.logits_rslora uses peft-rslora/'s; output.logits_base has no adapter. B is non-zero here"
                 " (PEFT starts it at 0) so that both factors get gradients.",
    }
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    print("wrote %s: %d grads, loss %.6f, max fp32-vs-fp64 %.3g" % (a.out, len(grads), out32["output.loss"].item(),
                                                                     max(diffs.values())))


if __name__ == "__main__":
    main()
