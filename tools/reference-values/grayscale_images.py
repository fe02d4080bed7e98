"""Grayscale still images and what PIL's Image.open(p).convert("RGB") makes of them (grey replicated into R, G and
B; alpha dropped), for ImageDecoderTest. Pillow 11 in the team's reference root.

    run.sh python3 tools/reference-values/grayscale_images.py
writes merv-data/src/test/resources/images/{gray.png, gray.jpg, gray-alpha.png, gray16.png} and
grayscale-expected.safetensors (uint8 [H, W, 3] per file).
"""
import os

import numpy as np
import torch
from PIL import Image
import PIL
from safetensors.torch import save_file

W, H = 29, 19


def grey():
    """uint8 [H, W]: a ramp with a checker pattern, every value 0..255 region covered."""
    y, x = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
    return ((x * 9 + y * 13 + ((x // 3 + y // 3) % 2) * 40) % 256).astype(np.uint8)


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_dir = os.path.join(root, "merv-data/src/test/resources/images")
    os.makedirs(out_dir, exist_ok=True)
    g = grey()
    Image.fromarray(g, "L").save(os.path.join(out_dir, "gray.png"))
    Image.fromarray(g, "L").save(os.path.join(out_dir, "gray.jpg"), quality=90)
    alpha = ((np.arange(W)[None, :] * 8 + np.arange(H)[:, None] * 5) % 256).astype(np.uint8)
    Image.fromarray(np.stack([g, alpha], axis=-1), "LA").save(os.path.join(out_dir, "gray-alpha.png"))
    g16 = (g.astype(np.uint16) * 257 + 3).astype(np.uint16)
    Image.fromarray(g16, "I;16").save(os.path.join(out_dir, "gray16.png"))
    expected = {}
    for name in ["gray.png", "gray.jpg", "gray-alpha.png", "gray16.png"]:
        with Image.open(os.path.join(out_dir, name)) as im:
            print(name, im.mode, im.size)
            expected[name] = torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.uint8).copy())
    save_file(expected, os.path.join(out_dir, "grayscale-expected.safetensors"),
              metadata={"pillow": PIL.__version__, "made_by": "tools/reference-values/grayscale_images.py"})
    print("wrote", out_dir)


if __name__ == "__main__":
    main()
