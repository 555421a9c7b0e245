"""Write the project's sample images: photos bundled with scikit-image, and rendered ones.

python samples/make_samples.py --out samples [--only NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data


def _gradient_rgba(size: int = 96) -> np.ndarray:
    """Smooth colour ramps with a radial alpha: exercises chroma and lossless alpha."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    rgb = np.stack([x, y, 1 - (x + y) / 2], -1) * 255
    alpha = np.clip(1.5 - 2 * np.hypot(x - 0.5, y - 0.5), 0, 1) * 255
    return np.rint(np.dstack([rgb, alpha])).astype(np.uint8)


SAMPLES = {
    "astronaut": lambda: data.astronaut(),  # 512 × 512 RGB
    "coffee": lambda: data.coffee(),  # 400 × 600 RGB
    "chelsea": lambda: data.chelsea(),  # 300 × 451 RGB
    "camera": lambda: data.camera(),  # 512 × 512 grayscale
    "gradient-rgba": _gradient_rgba,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--only", nargs="*", choices=sorted(SAMPLES), default=sorted(SAMPLES))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only:
        Image.fromarray(SAMPLES[name]()).save(args.out / f"{name}.png", optimize=True)
        print(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
