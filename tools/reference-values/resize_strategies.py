"""Expected frames of the reference's resize-crop and letterbox transforms (torchvision 0.21 on PIL images, as the
reference's DINOv2 / SigLIP / ViViT / Hiera backbones compose them) for ResizeStrategyTest:

    resize-crop: Resize(short side) -> CenterCrop(side) -> ToTensor -> Normalize(mean, std)
    letterbox:   LetterboxPad(int(mean * 255)) -> the same

at a 24 px side (the short side is floor(side / crop fraction): 24 for DINOv2 and SigLIP, whose evaluation resize is
the crop size, 27 for ViViT and Hiera, whose is 256 for a 224 crop). Two frames: 81x67 (landscape) and 51x70
(portrait, an odd padding difference, so letterboxing leaves it one pixel short of square).

    run.sh python3 tools/reference-values/resize_strategies.py
writes merv-encoders/src/test/resources/reference-values/resize-strategies.safetensors.
"""
import math
import os

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TVF
from PIL import Image
from safetensors.torch import save_file

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
HIERA = ((0.45, 0.45, 0.45), (0.225, 0.225, 0.225))
ENCODERS = {
    # name: (interpolation, (mean, std), crop fraction, letterbox possible)
    "dinov2": (T.InterpolationMode.BICUBIC, IMAGENET, 1.0, True),
    "siglip": (T.InterpolationMode.BICUBIC, HALF, 1.0, True),
    "vivit": (T.InterpolationMode.BILINEAR, HALF, 224 / 256, True),
    "hiera": (T.InterpolationMode.BILINEAR, HIERA, 224 / 256, False),
}
SIDE = 24


def frame(width, height):
    """uint8 [height, width, 3]: (37x + 91y + 53c + (x*y mod 17)) mod 256."""
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    return ((37 * x + 91 * y + 53 * c + (x * y) % 17) % 256).astype(np.uint8)


def letterbox(fill):
    def pad(image):
        (w, h), max_wh = image.size, max(image.size)
        hp, vp = int((max_wh - w) / 2), int((max_wh - h) / 2)
        return TVF.pad(image, (hp, vp, hp, vp), fill=fill, padding_mode="constant")
    return pad


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    frames = {"landscape": frame(81, 67), "portrait": frame(51, 70)}
    out = {"input." + k: torch.from_numpy(v) for k, v in frames.items()}
    for name, (interp, (mean, std), crop_fraction, can_letterbox) in ENCODERS.items():
        short = math.floor(SIDE / crop_fraction)
        crop = [T.Resize(short, interpolation=interp), T.CenterCrop(SIDE), T.ToTensor(), T.Normalize(mean, std)]
        strategies = {"resize-crop": T.Compose(crop)}
        if can_letterbox:
            strategies["letterbox"] = T.Compose([letterbox(tuple(int(x * 255) for x in mean))] + crop)
        for strategy, t in strategies.items():
            for fname, f in frames.items():
                out[f"{name}.{strategy}.{fname}"] = t(Image.fromarray(f, "RGB")).contiguous()
    target = os.path.join(root, "merv-encoders/src/test/resources/reference-values/resize-strategies.safetensors")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    import torchvision
    save_file(out, target, metadata={"torchvision": torchvision.__version__, "made_by": "tools/reference-values/resize_strategies.py"})
    print("wrote", target, sorted(out))


if __name__ == "__main__":
    main()
