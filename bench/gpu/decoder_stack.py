"""PyTorch twin of merv's DecoderStackBench (merv-llm tests): forward + backward of a stack of
Llama decoder layers, timed per step. Same maths as merv's LlamaModel layers: RMSNorm computed in
fp32, q/k/v/o without bias, rotary q/k (theta 1e4, rotate-half), fused causal SDPA (GQA when
--kv-heads < --heads), SwiGLU MLP without bias. A step: random [B, T, D] input that needs a gradient,
forward, backward from a random upstream gradient, one element of the input gradient read back.
Weight gradients accumulate across steps, as in merv's bench.

  python3 bench/gpu/decoder_stack.py --device cuda --dtype bf16 --layers 4 --hidden 4096 --heads 32 \
      --mlp 11008 --batch 1 --seq 2048 --steps 10 --warmup 3

Prints one JSON line (the same keys as merv's bench).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


class RmsNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        v = xf.pow(2).mean(-1, keepdim=True)
        return self.weight * (xf * torch.rsqrt(v + self.eps)).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, dim, heads, kv_heads, mlp):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, dim // heads
        self.input_layernorm = RmsNorm(dim)
        self.q_proj = torch.nn.Linear(dim, dim, bias=False)
        self.k_proj = torch.nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.v_proj = torch.nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.o_proj = torch.nn.Linear(dim, dim, bias=False)
        self.post_attention_layernorm = RmsNorm(dim)
        self.gate_proj = torch.nn.Linear(dim, mlp, bias=False)
        self.up_proj = torch.nn.Linear(dim, mlp, bias=False)
        self.down_proj = torch.nn.Linear(mlp, dim, bias=False)

    def forward(self, h, cos, sin):
        b, t, d = h.shape
        x = self.input_layernorm(h)
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.kv_heads != self.heads)
        h = h + self.o_proj(a.transpose(1, 2).reshape(b, t, d))
        x = self.post_attention_layernorm(h)
        return h + self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


def step_flops(layers, hidden, heads, kv_heads, mlp, batch, seq):
    """The formula of DecoderStackBench.stepFlops: backward = 2 x forward, causal half of the scores."""
    tokens = batch * seq
    head_dim = hidden // heads
    proj = 2.0 * tokens * hidden * (hidden + 2.0 * kv_heads * head_dim + hidden)
    ffn = 2.0 * tokens * 3.0 * hidden * mlp
    attn = 2.0 * 2.0 * batch * seq * seq * hidden / 2.0
    return 3.0 * layers * (proj + ffn + attn)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--kv-heads", type=int, default=None)
    p.add_argument("--mlp", type=int, default=None)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    a = p.parse_args()
    kv = a.kv_heads or a.heads
    mlp = a.mlp or a.hidden * 11 // 4
    if a.threads:
        torch.set_num_threads(a.threads)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    dev = torch.device(a.device)
    torch.manual_seed(1)
    layers = torch.nn.ModuleList(Layer(a.hidden, a.heads, kv, mlp) for _ in range(a.layers))
    for n, w in layers.named_parameters():
        with torch.no_grad():
            if not n.endswith("layernorm.weight"):
                w.normal_(0.0, 0.02)
    layers.to(device=dev, dtype=dtype)
    hd = a.hidden // a.heads
    inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    ang = torch.outer(torch.arange(a.seq, dtype=torch.float32), inv)
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos().to(dev, dtype), emb.sin().to(dev, dtype)
    times = []
    for s in range(-a.warmup, a.steps):
        x = torch.randn(a.batch, a.seq, a.hidden, device=dev).to(dtype).requires_grad_(True)
        g = torch.randn(a.batch, a.seq, a.hidden, device=dev).to(dtype)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        h = x
        for layer in layers:
            h = layer(h, cos, sin)
        h.backward(g)
        probe = float(x.grad[0, 0, 0])  # waits for the device
        dt = time.perf_counter() - t0
        if probe != probe:
            raise SystemExit("non-finite input gradient at step %d" % s)
        if s >= 0:
            times.append(dt * 1e3)
    med = statistics.median(times)
    flops = step_flops(a.layers, a.hidden, a.heads, kv, mlp, a.batch, a.seq)
    print(json.dumps({
        "impl": "pytorch", "device": str(dev) if dev.type == "cpu" else "cuda:%d" % (dev.index or 0),
        "torch": torch.__version__, "dtype": "bfloat16" if a.dtype == "bf16" else "float32",
        "layers": a.layers, "hidden": a.hidden, "heads": a.heads, "kv_heads": kv, "mlp": mlp,
        "batch": a.batch, "seq": a.seq, "steps": a.steps, "step_ms_median": round(med, 3),
        "step_ms_best": round(min(times), 3), "tokens_per_s": round(a.batch * a.seq / (med / 1e3), 1),
        "model_tflops_per_s": round(flops / (med / 1e3) / 1e12, 4),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
    }))


if __name__ == "__main__":
    main()
