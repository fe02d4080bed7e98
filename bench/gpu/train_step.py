"""PyTorch twin of merv's TrainStepBench (merv-llm tests): one training step of a Llama causal LM at MERV's
finetune shape, timed per step, with and without recomputation, the way merv's trainer does it:

- the model in bf16 (compute copies), fp32 master weights, fp32 gradients;
- forward with fused causal SDPA (no attention mask: one right-padded-free row per sample), logits upcast
  to fp32, summed cross-entropy over the supervised positions (the first --visual positions stand for the
  visual tokens and are not supervised) divided by their count;
- backward; gradients copied to the fp32 masters; clip_grad_norm_(1.0); AdamW (fused on CUDA) on the
  masters; masters copied back into the bf16 weights; the loss read once per step.

The model is Hugging Face transformers' LlamaForCausalLM with attn_implementation="sdpa" when transformers
imports, else a plain PyTorch Llama with the same maths (decoder_stack.py's layers, embedding, final norm,
LM head); "model_impl" says which ran. Recomputation: HF's gradient checkpointing (non-reentrant), or
torch.utils.checkpoint per layer in the plain twin.

  python3 bench/gpu/train_step.py --device cuda --dtype bf16 --layers 8 --hidden 4096 --heads 32 \
      --mlp 11008 --vocab 32064 --batch 1 --seq 2048 --visual 64 --steps 5 --warmup 2

Prints one JSON line per mode with the keys of TrainStepBench's ("name": "train_step" or
"train_step_recompute"), plus the peak memory torch's allocator saw on a GPU.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from decoder_stack import Layer, RmsNorm  # noqa: E402  (the same layer maths as merv's bench)


class PlainLlama(torch.nn.Module):
    """Embedding, decoder_stack.py's layers, final RMSNorm, LM head; rotary tables for positions 0..T-1."""

    def __init__(self, vocab, hidden, heads, kv_heads, mlp, layers):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(vocab, hidden)
        self.layers = torch.nn.ModuleList(Layer(hidden, heads, kv_heads, mlp) for _ in range(layers))
        self.norm = RmsNorm(hidden)
        self.lm_head = torch.nn.Linear(hidden, vocab, bias=False)
        self.head_dim = hidden // heads
        self.recompute = False

    def forward(self, ids):
        t = ids.shape[1]
        inv = 1.0 / (10000.0 ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32, device=ids.device) / self.head_dim))
        ang = torch.outer(torch.arange(t, dtype=torch.float32, device=ids.device), inv)
        emb = torch.cat((ang, ang), dim=-1)
        h = self.embed_tokens(ids)
        cos, sin = emb.cos().to(h.dtype), emb.sin().to(h.dtype)
        for layer in self.layers:
            h = checkpoint(layer, h, cos, sin, use_reentrant=False) if self.recompute else layer(h, cos, sin)
        return self.lm_head(self.norm(h))


def build(a, dev, dtype):
    """(model, description): HF's LlamaForCausalLM with SDPA when transformers imports, else the plain twin."""
    try:
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
        cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.mlp,
                          num_hidden_layers=a.layers, num_attention_heads=a.heads,
                          num_key_value_heads=a.kv_heads or a.heads, max_position_embeddings=max(4096, a.seq),
                          rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, use_cache=False,
                          attn_implementation="sdpa")
        with torch.device(dev):
            model = LlamaForCausalLM(cfg)
        model.to(dtype)
        return model, "transformers %s LlamaForCausalLM (sdpa)" % transformers.__version__
    except Exception as e:  # not installed, or too old for this torch: the plain twin measures the same maths
        reason = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        with torch.device(dev):
            model = PlainLlama(a.vocab, a.hidden, a.heads, a.kv_heads or a.heads, a.mlp, a.layers)
        model.to(dtype)
        return model, "plain PyTorch Llama twin (transformers unavailable: %s)" % reason[:160]


def run_mode(a, dev, dtype, recompute):
    torch.manual_seed(1)
    model, impl = build(a, dev, dtype)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    model.train()
    if recompute:
        if hasattr(model, "gradient_checkpointing_enable"):
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        else:
            model.recompute = True
    params = [p for p in model.parameters()]
    masters = [p.detach().float().clone() for p in params]
    fused = dev.type == "cuda"
    opt = torch.optim.AdamW(masters, lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, **({"fused": True} if fused else {}))
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g)
    labels = ids.clone()
    labels[:, : a.visual + 1] = -100
    ids, labels = ids.to(dev), labels.to(dev)
    tokens = int((labels[:, 1:] != -100).sum())
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(dev)
    times = []
    loss_value = float("nan")
    for s in range(-a.warmup, a.steps):
        t0 = time.perf_counter()
        out = model(ids)
        logits = out.logits if hasattr(out, "logits") else out
        v = logits.shape[-1]
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, v), labels[:, 1:].reshape(-1), ignore_index=-100,
                               reduction="sum") / tokens
        loss.backward()
        for m, p in zip(masters, params):
            m.grad = p.grad.float()
            p.grad = None
        torch.nn.utils.clip_grad_norm_(masters, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            torch._foreach_copy_(params, masters)
        loss_value = float(loss.detach())  # the step's one read, as merv's
        dt = time.perf_counter() - t0
        if loss_value != loss_value:
            raise SystemExit("non-finite loss at step %d" % s)
        if s >= 0:
            times.append(dt * 1e3)
    peak = {}
    if dev.type == "cuda":
        torch.cuda.synchronize()
        peak = {"max_memory_allocated_bytes": torch.cuda.max_memory_allocated(dev),
                "max_memory_reserved_bytes": torch.cuda.max_memory_reserved(dev)}
    del model, masters, opt, params
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return times, loss_value, impl, peak


def step_flops(a):
    """TrainStepBench.stepFlops: forward + backward = 3 x forward; attention over the causal half; LM head."""
    tokens = a.batch * a.seq
    kv = a.kv_heads or a.heads
    head_dim = a.hidden // a.heads
    proj = 2.0 * tokens * a.hidden * (a.hidden + 2.0 * kv * head_dim + a.hidden)
    ffn = 2.0 * tokens * 3.0 * a.hidden * a.mlp
    attn = 2.0 * 2.0 * a.batch * a.seq * a.seq * a.hidden / 2.0
    return 3.0 * (a.layers * (proj + ffn + attn) + 2.0 * tokens * a.hidden * a.vocab)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="bf16", choices=["bf16", "fp32"])
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--kv-heads", type=int, default=None)
    p.add_argument("--mlp", type=int, default=None)
    p.add_argument("--vocab", type=int, default=1024)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--visual", type=int, default=16)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--modes", default="recompute,plain")
    a = p.parse_args()
    a.mlp = a.mlp or a.hidden * 11 // 4
    if a.threads:
        torch.set_num_threads(a.threads)
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float32
    dev = torch.device(a.device)
    for mode in a.modes.split(","):
        recompute = mode == "recompute"
        times, loss, impl, peak = run_mode(a, dev, dtype, recompute)
        med = statistics.median(times)
        line = {
            "impl": "pytorch", "name": "train_step_recompute" if recompute else "train_step", "model_impl": impl,
            "device": str(dev) if dev.type == "cpu" else "cuda:%d" % (dev.index or 0), "torch": torch.__version__,
            "dtype": "bfloat16" if a.dtype == "bf16" else "float32", "layers": a.layers, "hidden": a.hidden,
            "heads": a.heads, "kv_heads": a.kv_heads or a.heads, "mlp": a.mlp, "vocab": a.vocab, "batch": a.batch,
            "seq": a.seq, "visual": a.visual, "steps": a.steps, "recompute": recompute,
            "step_ms_median": round(med, 3), "step_ms_best": round(min(times), 3),
            "tokens_per_s": round(a.batch * a.seq / (med / 1e3), 1),
            "model_tflops_per_s": round(step_flops(a) / (med / 1e3) / 1e12, 4), "final_loss": round(loss, 5),
            "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        }
        line.update(peak)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
