"""Expected values of timm's resample_abs_pos_embed (bicubic, antialiased) for PosEmbedResampleTest and
RegistryLoadTest, computed with torch's own F.interpolate (torch 2.6 CPU, the team's reference root).

The inputs are integer formulas both sides evaluate exactly (see source()); only the outputs are stored:
    run.sh python3 tools/reference-values/pos_embed.py
writes merv-encoders/src/test/resources/reference-values/pos-embed.safetensors.
"""
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file


def source(tokens, dim):
    """[1, tokens, dim] float32: value i (row-major) = ((i * 7919) % 1009) / 1009 - 0.5, in float64 then float32."""
    i = torch.arange(tokens * dim, dtype=torch.int64)
    v = ((i * 7919) % 1009).double() / 1009.0 - 0.5
    return v.float().reshape(1, tokens, dim)


def resample(posemb, new_size, num_prefix_tokens):
    """timm.layers.pos_embed.resample_abs_pos_embed as timm 0.9 runs it when a checkpoint's grid length differs:
    the old grid read as a square, bicubic + antialias in float32, prefix positions kept in front."""
    hw = int(math.sqrt(posemb.shape[1] - num_prefix_tokens))
    prefix, grid = posemb[:, :num_prefix_tokens], posemb[:, num_prefix_tokens:]
    dim = grid.shape[-1]
    grid = grid.float().reshape(1, hw, hw, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=new_size, mode="bicubic", antialias=True)
    grid = grid.permute(0, 2, 3, 1).reshape(1, -1, dim)
    return torch.cat([prefix, grid], dim=1)


CASES = [
    # name, prefix tokens, old grid side, dim, new (rows, cols)
    ("g5_d4_to_3x3", 0, 5, 4, (3, 3)),   # shrink (antialiased)
    ("g5_d4_to_7x7", 0, 5, 4, (7, 7)),   # grow
    ("g5_d4_to_3x4", 0, 5, 4, (3, 4)),   # non-square grid (timm img_size (H, W))
    ("g5_d4_to_6x2", 0, 5, 4, (6, 2)),   # portrait
    ("p1_g4_d3_to_2x5", 1, 4, 3, (2, 5)),  # a class token's position kept in front
    ("g37_d64_to_16x16", 0, 37, 64, (16, 16)),  # DINOv2-L/14 at 518 px -> 224 px, width / 16
]


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = {}
    for name, prefix, side, dim, new in CASES:
        src = source(prefix + side * side, dim)
        out[name] = resample(src, new, prefix).contiguous()
    target = os.path.join(root, "merv-encoders/src/test/resources/reference-values/pos-embed.safetensors")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    save_file(out, target, metadata={"torch": torch.__version__, "made_by": "tools/reference-values/pos_embed.py"})
    print("wrote", target, {k: list(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    main()
