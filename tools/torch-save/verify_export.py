"""Checks that files written by merv's TorchSaveWriter load in PyTorch with weights_only=True (maintainer tool).

    ./mvnw -B -q -pl merv-core test -Dtest=TorchSaveWriterTest -Dmerv.torchsave.out=merv-core/target/torch-save-export
    python3 tools/torch-save/verify_export.py merv-core/target/torch-save-export

For written.pt and run/checkpoints/latest-checkpoint.pt: torch.load(path, weights_only=True) must
succeed, and every tensor (nested path joined with '.') must equal, dtype and values, the tensor
merv wrote beside it as safetensors. Exits non-zero on any difference.
"""

import sys

import torch
from safetensors.torch import load_file


def flatten(obj, prefix, out):
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flatten(v, f"{prefix}.{i}" if prefix else str(i), out)


def check(pt, expected):
    obj = torch.load(pt, weights_only=True)
    got = {}
    flatten(obj, "", got)
    want = load_file(expected)
    bad = []
    if set(got) != set(want):
        bad.append(f"names differ: only in .pt {sorted(set(got) - set(want))}, only expected {sorted(set(want) - set(got))}")
    for k in sorted(set(got) & set(want)):
        if got[k].dtype != want[k].dtype or got[k].shape != want[k].shape or not torch.equal(got[k], want[k]):
            bad.append(f"{k}: {got[k].dtype} {tuple(got[k].shape)} vs {want[k].dtype} {tuple(want[k].shape)}")
    print(f"{pt}: torch.load(weights_only=True) ok, {len(got)} tensors, "
          + ("all equal (dtype, shape, values)" if not bad else f"{len(bad)} DIFFERENCES"))
    for b in bad:
        print("  ", b)
    return obj, not bad


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "merv-core/target/torch-save-export"
    obj, ok1 = check(f"{root}/written.pt", f"{root}/written.expected.safetensors")
    print("   non-tensor values:", {k: obj[k] for k in ("step", "neg", "lr", "name", "flag")}, "list:", obj["list"][1:])
    run, ok2 = check(f"{root}/run/checkpoints/latest-checkpoint.pt", f"{root}/run/expected.safetensors")
    print("   reference layout: model ->", list(run["model"].keys()),
          "e.g.", next(iter(run["model"]["projectors"].keys())))
    sys.exit(0 if ok1 and ok2 else 1)
