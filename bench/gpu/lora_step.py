"""PyTorch twin of merv's LoraStepBench (merv-llm tests): one LoRA training step of a full-depth Llama decoder,
timed per step. Defaults are Llama-2-7B's shape at MERV's finetune length (2048 text + 1024 visual tokens).

  python3 bench/gpu/lora_step.py --device cuda:0 --batch 4          # HF transformers + PEFT when installed
  python3 bench/gpu/lora_step.py --device cuda:0 --batch 4 --impl plain

The step is what merv's trainer does: random ids, every position supervised, forward and backward with
activation recomputation per decoder layer, the base weights frozen in bf16, the adapters (r, alpha on q/k/v/o/
gate/up/down) with fp32 parameters and AdamW state, bf16 compute (autocast), global-norm clip 1.0, AdamW
(lr 2e-4, weight decay 0.1), zero_grad. Two implementations:

  hf     transformers' LlamaForCausalLM (SDPA attention) + peft's get_peft_model(LoraConfig), gradient
         checkpointing (non-reentrant), as HF's Trainer runs a bf16 LoRA finetune
  plain  the same decoder written out in PyTorch (RMSNorm in fp32, rotate-half RoPE, fused causal SDPA,
         SwiGLU, untied LM head, fp32 logits), LoRA as y = W x + B(A x) * alpha / r, torch.utils.checkpoint
         per layer

--impl auto (default) takes hf when both packages import, else plain. Prints one JSON line with the keys of
merv's bench, plus peak_allocated_gb / peak_reserved_gb (torch.cuda.max_memory_*) over the timed steps.
Model FLOPs per step (merv's formula, no recomputation counted): 4 per frozen matrix element and token (forward
and input gradient), 6 per adapter element and token (forward, input and weight gradients), attention scores and
values over the causal half, backward twice forward. MFU divides by --peak-tflops (default: the card's dense
bf16 peak when its name is known).
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PEAK_BF16_TFLOPS = [("H100 PCIe", 756.0), ("H100", 989.4), ("H200", 989.4), ("GH200", 989.4), ("A100", 312.0),
                    ("L40S", 362.1)]


# ------------------------------------------------------------------------------ plain PyTorch

class LoraLinear(torch.nn.Module):
    def __init__(self, d_in, d_out, r, alpha):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(d_out, d_in), requires_grad=False)
        self.lora_A = torch.nn.Parameter(torch.empty(r, d_in))
        self.lora_B = torch.nn.Parameter(torch.zeros(d_out, r))
        torch.nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / r

    def forward(self, x):
        return F.linear(x, self.weight) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


class RmsNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        return self.weight * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        d, hd = a.hidden, a.hidden // a.heads
        self.heads, self.kv, self.hd = a.heads, a.kv_heads, hd
        lin = lambda i, o: LoraLinear(i, o, a.r, a.alpha)
        self.input_layernorm, self.post_attention_layernorm = RmsNorm(d), RmsNorm(d)
        self.q_proj, self.k_proj = lin(d, a.heads * hd), lin(d, a.kv_heads * hd)
        self.v_proj, self.o_proj = lin(d, a.kv_heads * hd), lin(a.heads * hd, d)
        self.gate_proj, self.up_proj, self.down_proj = lin(d, a.mlp), lin(d, a.mlp), lin(a.mlp, d)

    def forward(self, h, cos, sin):
        b, t, d = h.shape
        x = self.input_layernorm(h)
        q = self.q_proj(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.kv != self.heads)
        h = h + self.o_proj(att.transpose(1, 2).reshape(b, t, self.heads * self.hd))
        x = self.post_attention_layernorm(h)
        return h + self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class PlainLlama(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(a.vocab, a.hidden)
        self.embed_tokens.weight.requires_grad_(False)
        self.layers = torch.nn.ModuleList(Layer(a) for _ in range(a.layers))
        self.norm = RmsNorm(a.hidden)
        self.lm_head = torch.nn.Linear(a.hidden, a.vocab, bias=False)
        self.lm_head.weight.requires_grad_(False)
        hd = a.hidden // a.heads
        inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        ang = torch.outer(torch.arange(a.seq, dtype=torch.float32), inv)
        emb = torch.cat((ang, ang), dim=-1)
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, ids):
        h = self.embed_tokens(ids)
        cos, sin = self.cos.to(h.dtype), self.sin.to(h.dtype)
        for layer in self.layers:
            h = torch.utils.checkpoint.checkpoint(layer, h, cos, sin, use_reentrant=False)
        logits = self.lm_head(self.norm(h)).float()
        v = logits.shape[-1]
        return F.cross_entropy(logits[:, :-1].reshape(-1, v), ids[:, 1:].reshape(-1))


def plain_model(a, dev, dtype):
    with torch.device(dev):
        m = PlainLlama(a)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if not p.requires_grad and not n.endswith("norm.weight"):
                p.normal_(0.0, 0.02)
    for n, p in m.named_parameters():
        if not p.requires_grad:
            p.data = p.data.to(dtype)  # frozen base in the compute dtype; adapters stay fp32
    return m, lambda ids: m(ids)


# ------------------------------------------------------------------------------ transformers + peft

def hf_model(a, dev, dtype):
    import transformers
    import peft
    cfg = transformers.LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.mlp,
                                   num_hidden_layers=a.layers, num_attention_heads=a.heads,
                                   num_key_value_heads=a.kv_heads, max_position_embeddings=max(4096, a.seq),
                                   rope_theta=10000.0, tie_word_embeddings=False, use_cache=False)
    with torch.device(dev):
        m = transformers.LlamaForCausalLM._from_config(cfg, torch_dtype=dtype, attn_implementation="sdpa")
    m.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    m.enable_input_require_grads()
    lcfg = peft.LoraConfig(r=a.r, lora_alpha=a.alpha, lora_dropout=0.0, target_modules=TARGETS, bias="none",
                           task_type="CAUSAL_LM")
    m = peft.get_peft_model(m, lcfg)
    for p in m.parameters():
        if p.requires_grad:
            p.data = p.data.float()  # fp32 adapters, as merv's masters (peft's autocast_adapter_dtype does the same)
    m.train()
    return m, lambda ids: m(input_ids=ids, labels=ids).loss


# ------------------------------------------------------------------------------ bench

def step_flops(a, adapter_params):
    tokens = a.batch * a.seq
    hd = a.hidden // a.heads
    frozen = a.layers * (a.hidden * (a.hidden + 2.0 * a.kv_heads * hd + a.hidden) + 3.0 * a.hidden * a.mlp) \
        + a.hidden * a.vocab
    attn = a.layers * 2.0 * 2.0 * a.batch * a.seq * a.seq * a.hidden / 2.0
    return 4.0 * frozen * tokens + 6.0 * adapter_params * tokens + 3.0 * attn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--impl", default="auto", choices=["auto", "hf", "plain"])
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=None)
    p.add_argument("--mlp", type=int, default=11008)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--seq", type=int, default=3072)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--r", type=int, default=128)
    p.add_argument("--alpha", type=float, default=None)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--peak-tflops", type=float, default=None)
    a = p.parse_args()
    a.kv_heads = a.kv_heads or a.heads
    a.alpha = a.alpha if a.alpha is not None else 2.0 * a.r
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    torch.manual_seed(1)
    impl = a.impl
    if impl == "auto":
        try:
            import transformers  # noqa: F401
            import peft  # noqa: F401
            impl = "hf"
        except ImportError:
            impl = "plain"
    model, loss_of = hf_model(a, dev, dtype) if impl == "hf" else plain_model(a, dev, dtype)
    trainable = [q for q in model.parameters() if q.requires_grad]
    adapter_params = sum(q.numel() for n, q in model.named_parameters() if q.requires_grad and "lora_" in n)
    base_params = sum(q.numel() for n, q in model.named_parameters() if "lora_" not in n)
    opt = torch.optim.AdamW(trainable, lr=2e-4, weight_decay=0.1, fused=cuda)
    g = torch.Generator().manual_seed(3)
    times, loss = [], float("nan")
    for s in range(-a.warmup, a.steps):
        ids = torch.randint(1, a.vocab, (a.batch, a.seq), generator=g).to(dev)
        if s == 0 and cuda:
            torch.cuda.reset_peak_memory_stats(dev)
        if cuda:
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
            l = loss_of(ids)
        l.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss = float(l)  # waits for the device
        dt = time.perf_counter() - t0
        if not math.isfinite(loss):
            raise SystemExit("non-finite loss at step %d" % s)
        if s >= 0:
            times.append(dt * 1e3)
    med = statistics.median(times)
    flops = step_flops(a, adapter_params)
    tflops = flops / (med / 1e3) / 1e12
    name = torch.cuda.get_device_name(dev) if cuda else "cpu"
    peak = a.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS if k in name), None)
    print(json.dumps({
        "impl": "hf-peft" if impl == "hf" else "pytorch-lora", "device": str(dev) if not cuda else "cuda:%d" % (dev.index or 0),
        "torch": torch.__version__, "dtype": a.dtype, "layers": a.layers, "hidden": a.hidden, "heads": a.heads,
        "kv_heads": a.kv_heads, "mlp": a.mlp, "vocab": a.vocab, "batch": a.batch, "seq": a.seq, "r": a.r,
        "alpha": a.alpha, "base_params": base_params, "adapter_params": adapter_params, "steps": a.steps,
        "step_ms_median": round(med, 3), "step_ms_best": round(min(times), 3),
        "tokens_per_s": round(a.batch * a.seq / (med / 1e3), 1), "model_tflops_per_s": round(tflops, 4),
        "mfu": round(tflops / peak, 4) if peak else None,
        "peak_allocated_gb": round(torch.cuda.max_memory_allocated(dev) / 1e9, 3) if cuda else None,
        "peak_reserved_gb": round(torch.cuda.max_memory_reserved(dev) / 1e9, 3) if cuda else None,
        "last_loss": round(loss, 4), "device_name": name,
    }))


if __name__ == "__main__":
    main()
