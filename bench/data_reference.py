"""The Python side of merv-data's ReferenceBench: the reference data path on the same files, one core.

Two operations, each timed here (not including the pipe to the Java bench):

  decode    PyAV decodes forward from the start and converts the sampled frames to RGB
            (to_ndarray(format="rgb24")): the sampled indices are the reference's (numpy linspace over
            the frame count, stop min(N-1, N/fps*fps - 1), truncated), counted in presentation order.
  pipeline  per sample: that decode, then every merv-base encoder's transform as the reference applies
            it -- DINOv2 / SigLIP: PIL resize to 224x224 bicubic, /255, normalise; ViViT: PIL bilinear,
            /255, normalise; LanguageBind: the whole clip as float, /255, CLIP normalise, short side to 224
            (torch bilinear, no antialias), centre crop, horizontal flip with p = 0.5 -- each encoder on
            every (32/num_frames)-th frame; then the batch is collated (torch.stack per encoder).

Runs as a server: one JSON request per stdin line, one JSON reply per stdout line:

  {"op": "decode", "file": F, "frames": 32}        -> {"ms", "frames", "decoded", "means"}
  {"op": "pipeline", "files": [F, ...], "frames": 32} -> {"ms", "decode_ms", "clips", "shapes"}
  {"op": "quit"}

Needs PyAV, numpy, Pillow, torch and torchvision. Start it from the repository root:
  python3 bench/data_reference.py
"""
import json
import sys
import time

import av
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

torch.set_num_threads(1)

# merv-base: (name, frames, transform)
DINO = transforms.Compose([
    transforms.Resize((224, 224), interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(224), transforms.ToTensor(),
    transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
VIVIT = transforms.Compose([
    transforms.Resize((224, 224), interpolation=transforms.InterpolationMode.BILINEAR),
    transforms.CenterCrop(224), transforms.ToTensor(),
    transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
SIGLIP = transforms.Compose([
    transforms.Resize((224, 224), interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.CenterCrop(224), transforms.ToTensor(),
    transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
CLIP_MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1, 1)
CLIP_STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1, 1)
RNG = np.random.default_rng(7)


def languagebind(video):
    """video: uint8 [T, 3, H, W] -> float [3, T, 224, 224]."""
    x = video.permute(1, 0, 2, 3).float() / 255.0
    x = (x - CLIP_MEAN) / CLIP_STD
    h, w = x.shape[-2:]
    if w < h:
        nh, nw = int(h / w * 224), 224
    else:
        nh, nw = 224, int(w / h * 224)
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    top = int(round((nh - 224) / 2.0))
    left = int(round((nw - 224) / 2.0))
    x = x[..., top:top + 224, left:left + 224]
    if RNG.random() < 0.5:
        x = x.flip(-1)
    return x


def per_frame(video, tf):
    """video: uint8 [T, 3, H, W] -> float [T, 3, 224, 224] through a PIL transform per frame."""
    return torch.stack([tf(Image.fromarray(f.permute(1, 2, 0).numpy())) for f in video])


ENCODERS = [("languagebind", 16, languagebind), ("dinov2", 16, lambda v: per_frame(v, DINO)),
            ("vivit", 32, lambda v: per_frame(v, VIVIT)), ("siglip", 16, lambda v: per_frame(v, SIGLIP))]


def indices(n, fps, k):
    stop = n - 1
    if fps and fps > 0:
        stop = min(n - 1, (n / fps) * fps - 1)
    return np.linspace(0, stop, k).astype(int)


def decode(path, k):
    """Sampled frames as uint8 [K, H, W, 3], the file's frame count and the frames decoded."""
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_count = 1
        n = s.frames
        fps = float(s.average_rate) if s.average_rate else 0.0
        idx = indices(n, fps, k)
        want = {}
        for j, i in enumerate(idx):
            want.setdefault(int(i), []).append(j)
        out = [None] * k
        last = int(idx[-1])
        decoded = 0
        for i, frame in enumerate(c.decode(s)):
            decoded += 1
            if i in want:
                rgb = frame.to_ndarray(format="rgb24")
                for j in want[i]:
                    out[j] = rgb
            if i >= last:
                break
    return np.stack(out), n, decoded


def pipeline(files, k):
    """The collated batch and the time spent decoding (the rest is transforms and collation)."""
    batch = {name: [] for name, _, _ in ENCODERS}
    decode_s = 0.0
    for f in files:
        t0 = time.perf_counter()
        frames, _, _ = decode(f, k)
        decode_s += time.perf_counter() - t0
        video = torch.from_numpy(frames).permute(0, 3, 1, 2)
        for name, nf, tf in ENCODERS:
            batch[name].append(tf(video[::k // nf]))
    return [torch.stack(batch[name]) for name, _, _ in ENCODERS], decode_s


def main():
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        if op == "quit":
            break
        t0 = time.perf_counter()
        if op == "decode":
            frames, n, decoded = decode(req["file"], req["frames"])
            ms = (time.perf_counter() - t0) * 1e3
            reply = {"ms": ms, "frames": n, "decoded": decoded,
                     "means": [float(f.mean()) for f in frames]}
        elif op == "pipeline":
            out, decode_s = pipeline(req["files"], req["frames"])
            ms = (time.perf_counter() - t0) * 1e3
            reply = {"ms": ms, "decode_ms": decode_s * 1e3, "clips": len(req["files"]),
                     "shapes": [list(t.shape) for t in out]}
        else:
            reply = {"error": "unknown op " + op}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
