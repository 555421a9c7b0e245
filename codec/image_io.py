"""Images in and out: Pillow images or arrays → uint8 arrays the codec takes, and back to files.

Input policy: EXIF orientation is applied; 1-bit images become L; palette images become RGB,
or L when every palette entry is gray (with alpha when the palette has transparency); other
colour spaces become RGB; 16- and 32-bit integer images are reduced to 8 bits (v / 257,
rounded) with an :class:`ImageWarning`; floating-point images are refused. The ICC profile
is kept; other metadata (EXIF, XMP, text) is not.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from codec.errors import ImageWarning

CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
LOSSLESS_FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    ".png": ("PNG", {}),
    ".webp": ("WEBP", {"lossless": True, "quality": 100, "method": 4}),
    ".tif": ("TIFF", {"compression": "tiff_adobe_deflate"}),
    ".tiff": ("TIFF", {"compression": "tiff_adobe_deflate"}),
    ".bmp": ("BMP", {}),
}
"""Output formats that store 8-bit pixels exactly, by file extension."""
_WIDENED = {("WEBP", "L"): "RGB", ("WEBP", "LA"): "RGBA", ("BMP", "LA"): "RGBA"}
"""Modes a format cannot store, and the mode (same pixel values) written instead."""


def _to_8bit(image: Image.Image) -> Image.Image:
    """Modes the codec stores directly (L, LA, RGB, RGBA) from any Pillow mode."""
    mode = image.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in image.info
        converted = image.convert("RGBA" if alpha else "RGB")
        rgb = np.asarray(converted)[..., :3]
        gray = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
        return converted.convert("LA" if alpha else "L") if gray else converted
    if mode.startswith("I"):
        warnings.warn(
            f"{mode} image reduced to 8 bits per channel (nmfz stores 8-bit images)",
            ImageWarning,
            stacklevel=3,
        )
        wide = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(wide / 257), 0, 255).astype(np.uint8), "L")
    if mode == "F":
        raise ValueError("floating-point (mode F) images are not supported; convert to 8-bit")
    return image.convert("RGBA" if "A" in mode else "RGB")


def to_array(image: Image.Image | np.ndarray) -> tuple[np.ndarray, bytes | None]:
    """The pixels as a uint8 array (h, w) or (h, w, c) with c in {2, 3, 4}, and the ICC profile."""
    if isinstance(image, Image.Image):
        icc = image.info.get("icc_profile") or None
        pixels = np.asarray(_to_8bit(ImageOps.exif_transpose(image)))
        return np.ascontiguousarray(pixels), icc
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        raise ValueError(f"image array must be uint8, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (2, 3, 4))):
        raise ValueError(f"image array must be (h, w) or (h, w, 2|3|4), got {pixels.shape}")
    if 0 in pixels.shape:
        raise ValueError(f"image is empty: shape {pixels.shape}")
    return np.ascontiguousarray(pixels), None


def load(path: Path) -> tuple[np.ndarray, bytes | None]:
    """Read an image file (any format Pillow reads) as :func:`to_array` does."""
    try:
        with Image.open(path) as image:
            rawmodes = [str(tile.args) for tile in image.tile]
            if image.mode in ("RGB", "RGBA") and any(";16" in raw for raw in rawmodes):
                warnings.warn(
                    f"16-bit {image.mode} image reduced to 8 bits per channel (high bytes kept)",
                    ImageWarning,
                    stacklevel=2,
                )
            image.load()
            return to_array(image)
    except Image.DecompressionBombError as error:
        raise ValueError(f"image too large: {error}") from error
    except (OSError, SyntaxError) as error:  # Pillow's UnidentifiedImageError is an OSError
        raise ValueError(f"cannot read image: {error}") from error


def render(pixels: np.ndarray, suffix: str, icc: bytes | None = None) -> bytes:
    """Encode pixels as a lossless image file of the format that ``suffix`` names."""
    suffix = suffix.lower()
    if suffix not in LOSSLESS_FORMATS:
        raise ValueError(
            f"cannot write {suffix or 'a file without extension'}: lossless output formats are "
            + ", ".join(sorted(LOSSLESS_FORMATS))
        )
    name, options = LOSSLESS_FORMATS[suffix]
    image = Image.fromarray(pixels, CHANNELS[1 if pixels.ndim == 2 else pixels.shape[2]])
    if (name, image.mode) in _WIDENED:
        image = image.convert(_WIDENED[name, image.mode])
    buffer = io.BytesIO()
    image.save(buffer, name, **options, **({"icc_profile": icc} if icc else {}))
    return buffer.getvalue()
