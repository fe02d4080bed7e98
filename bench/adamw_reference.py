"""Prints torch.optim.AdamW's state after a few steps on fixed numbers, for AdamWTest.

Run with a Python 3 that has PyTorch 2.x:  python3 bench/adamw_reference.py
Two tensors: 'w' (decay group, wd 0.1) and 'b' (no-decay group); step 0 at lr 0 like MERV's FSDP
strategy, then lr 1e-2 and 5e-3; gradients clipped by clip_grad_norm_(1.0) before every step.
"""
import torch

torch.set_printoptions(precision=10)
w = torch.nn.Parameter(torch.tensor([0.5, -1.25, 2.0, 0.0, 1e-3, -0.75], dtype=torch.float32))
b = torch.nn.Parameter(torch.tensor([0.1, -0.2, 0.3], dtype=torch.float32))
opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1}, {"params": [b], "weight_decay": 0.0}],
                        lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
grads_w = [[0.3, -0.1, 2.5, 0.0, 1e-4, -0.6], [0.2, 0.05, -1.0, 0.0, 3e-4, 0.1], [-0.4, 0.3, 0.7, 0.0, -2e-4, 0.2]]
grads_b = [[0.01, -0.02, 0.5], [0.02, 0.0, -0.3], [0.05, 0.01, 0.2]]
lrs = [0.0, 1e-2, 5e-3]
for k in range(3):
    for g in opt.param_groups:
        g["lr"] = lrs[k]
    w.grad = torch.tensor(grads_w[k], dtype=torch.float32)
    b.grad = torch.tensor(grads_b[k], dtype=torch.float32)
    n = torch.nn.utils.clip_grad_norm_([w, b], max_norm=1.0)
    print("norm", k, repr(float(n)))
    opt.step()
for name, p in [("w", w), ("b", b)]:
    st = opt.state[p]
    print(name, [repr(float(x)) for x in p.detach()])
    print(name + ".exp_avg", [repr(float(x)) for x in st["exp_avg"]])
    print(name + ".exp_avg_sq", [repr(float(x)) for x in st["exp_avg_sq"]])
