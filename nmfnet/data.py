"""Training data: chroma planes of the images in a folder, and random views of them.

Planes are Cb and Cr of BT.601 Y'CbCr divided by 255 (as the codec factors them), portrait
images transposed to landscape, as the thesis prepares RAISE. Use ``../shared/data/train``;
never the Kodak set, which is kept for evaluation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from codec.color import rgb_to_ycbcr

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm")


def image_paths(folder: Path) -> list[Path]:
    """Image files of ``folder``, sorted by name."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return paths


def chroma_planes(rgb: np.ndarray) -> torch.Tensor:
    """(h, w, 3) uint8 → (2, h', w') float32 Cb, Cr in [0, 1], transposed when portrait."""
    _, cb, cr = rgb_to_ycbcr(rgb)
    planes = torch.from_numpy(np.stack([cb, cr])) / 255
    return planes.mT if planes.shape[1] > planes.shape[2] else planes


def load_chroma(path: Path) -> torch.Tensor:
    """Chroma planes of one image file (see :func:`chroma_planes`)."""
    from PIL import Image

    with Image.open(path) as image:
        return chroma_planes(np.asarray(image.convert("RGB")))


def resize(planes: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """(B, h, w) → (B, rows, cols), antialiased bilinear (area-like when shrinking)."""
    if planes.shape[-2:] == (rows, cols):
        return planes
    return F.interpolate(
        planes[:, None], size=(rows, cols), mode="bilinear", antialias=True, align_corners=False
    )[:, 0]


def thesis_planes(folder: Path, rows: int = 204, cols: int = 308) -> torch.Tensor:
    """(2N, rows, cols): every image's Cb and Cr resized to rows × cols, as in the thesis."""
    return torch.cat([resize(load_chroma(p), rows, cols) for p in image_paths(folder)])


class ChromaViews:
    """Random views of full-resolution chroma planes: a crop of random scale, resized to
    rows × cols, flipped at random in both directions (the thesis's augmentation)."""

    def __init__(self, planes: list[torch.Tensor], rows: int, cols: int, min_scale: float = 0.3):
        if not planes:
            raise ValueError("ChromaViews needs at least one plane")
        self.planes, self.rows, self.cols, self.min_scale = planes, rows, cols, min_scale

    @classmethod
    def from_paths(cls, paths: list[Path], rows: int, cols: int) -> ChromaViews:
        return cls([plane for p in paths for plane in load_chroma(p)], rows, cols)

    def _view(self, generator: torch.Generator) -> torch.Tensor:
        u = torch.rand(6, generator=generator, dtype=torch.float64).tolist()
        plane = self.planes[int(u[0] * len(self.planes))]
        h, w = plane.shape
        scale = self.min_scale + (1 - self.min_scale) * u[1]
        # The crop keeps the model's aspect ratio where the plane allows it.
        ch = max(1, min(h, round(scale * min(h, w * self.rows / self.cols))))
        cw = max(1, min(w, round(ch * self.cols / self.rows)))
        top, left = int(u[2] * (h - ch + 1)), int(u[3] * (w - cw + 1))
        view = resize(plane[None, top : top + ch, left : left + cw], self.rows, self.cols)[0]
        flips = [d for d, x in zip((0, 1), u[4:], strict=True) if x < 0.5]
        return view.flip(flips) if flips else view

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """(batch, rows, cols) views."""
        return torch.stack([self._view(generator) for _ in range(batch)])


def split_paths(paths: list[Path], every: int = 8) -> tuple[list[Path], list[Path]]:
    """(training, validation): every ``every``-th image, from the first, is held out."""
    return [p for i, p in enumerate(paths) if i % every], paths[::every]
