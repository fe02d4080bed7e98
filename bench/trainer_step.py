"""PyTorch-eager twin of TrainerBench: the same stand-in model, batch and training step.

Model (TinyLm in merv-core's tests): embedding, a frozen linear "encoder" run under no_grad whose
output is added with weight 0.1, L pre-norm layers (HF-style RMSNorm, q/k/v/o without bias, causal
SDPA, SiLU MLP with biases), final RMSNorm, LM head, summed shifted cross-entropy (ignore -100)
divided by the step's supervised tokens. Step: forward + backward (optionally
torch.utils.checkpoint per layer, non-reentrant, as MERV), clip_grad_norm_(1.0), AdamW (decay /
no-decay groups as MERV), LambdaLR warmup+cosine, zero_grad(set_to_none).

  python3 bench/trainer_step.py --threads 2 [--recompute]

Prints one JSON line: median / best step time in ms over the timed steps, the peak RSS and the BLAS torch was
built with (a "generic" reference BLAS, as Debian's build without OpenBLAS has, makes every matmul several
times slower than the MKL in merv's libtorch: the ratio then measures the BLAS, not the trainer).
"""
import argparse
import json
import math
import re
import resource
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


class RmsNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        v = xf.pow(2).mean(-1, keepdim=True)
        return self.weight * (xf * torch.rsqrt(v + self.eps)).to(x.dtype)


class Block(torch.nn.Module):
    def __init__(self, dim, hidden, heads):
        super().__init__()
        self.heads = heads
        self.input_layernorm = RmsNorm(dim)
        self.q_proj = torch.nn.Linear(dim, dim, bias=False)
        self.k_proj = torch.nn.Linear(dim, dim, bias=False)
        self.v_proj = torch.nn.Linear(dim, dim, bias=False)
        self.o_proj = torch.nn.Linear(dim, dim, bias=False)
        self.post_attention_layernorm = RmsNorm(dim)
        self.up_proj = torch.nn.Linear(dim, hidden, bias=True)
        self.down_proj = torch.nn.Linear(hidden, dim, bias=True)

    def forward(self, h):
        b, t, d = h.shape
        x = self.input_layernorm(h)
        q = self.q_proj(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        h1 = h + self.o_proj(a)
        return h1 + self.down_proj(F.silu(self.up_proj(self.post_attention_layernorm(h1))))


class TinyLm(torch.nn.Module):
    def __init__(self, vocab, dim, layers, heads, hidden):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(vocab, dim)
        self.frozen_encoder = torch.nn.Linear(dim, dim)
        self.frozen_encoder.requires_grad_(False)
        self.layers = torch.nn.ModuleList([Block(dim, hidden, heads) for _ in range(layers)])
        self.norm = RmsNorm(dim)
        self.lm_head = torch.nn.Linear(dim, vocab, bias=False)
        self.vocab = vocab

    def forward(self, ids, labels, recompute):
        e = self.embed_tokens(ids)
        with torch.no_grad():
            enc = self.frozen_encoder(e.detach())
        h = e + enc * 0.1
        for blk in self.layers:
            h = checkpoint(blk, h, use_reentrant=False) if recompute else blk(h)
        logits = self.lm_head(self.norm(h))
        return F.cross_entropy(logits[:, :-1].reshape(-1, self.vocab).float(), labels[:, 1:].reshape(-1),
                               reduction="sum", ignore_index=-100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--recompute", action="store_true")
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=352)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = TinyLm(a.vocab, a.dim, a.layers, a.heads, a.hidden)
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim >= 2 and not n.endswith(".bias")]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and (p.ndim < 2 or n.endswith(".bias"))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    total = a.warmup + a.steps
    warm = int(total * 0.03)

    def lam(s):
        if s < warm:
            return s / max(1, warm)
        return max(0.0, 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, a.vocab, (a.batch, a.seq), generator=g)
    labels = ids.clone()
    labels[:, : a.seq // 4] = -100
    tokens = int((labels[:, 1:] != -100).sum())
    times = []
    for step in range(total):
        t0 = time.perf_counter()
        loss = model(ids, labels, a.recompute)
        (loss / tokens).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        _ = float(loss)
        if step >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    # the BLAS behind torch's matrix products decides most of the step time: say which one it is
    found = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas = found.group(1) if found else "unknown"
    print(json.dumps({"impl": "pytorch-eager", "torch": torch.__version__, "blas": blas, "threads": a.threads,
                      "recompute": a.recompute, "median_ms": times[len(times) // 2], "best_ms": times[0],
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
