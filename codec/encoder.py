"""The codec proper: ``encode(image) -> bytes`` and ``decode(bytes) -> pixels``, pure.

Y' is kept exactly (8-bit, lossless plane coder); Cb and Cr are factored V ≈ W·H in one batch,
quantized and entropy coded; alpha, when present, is coded losslessly like luma.
Decoding needs numpy only: torch is imported by the encoder alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from codec import chroma as chroma_section
from codec import compression, planes, registry
from codec.color import rgb_to_ycbcr, ycbcr_to_rgb
from codec.container import MAX_PIXELS, Container, Mode, Section, SectionKind, pack, unpack
from codec.errors import FormatError
from codec.image_io import CHANNELS, to_array
from codec.quantize import quantize

DEFAULT_INIT = "kmeans-rows"
MAX_ICC_BYTES = 1 << 24


def _factor_chroma(
    cb: np.ndarray, cr: np.ndarray, rank: int, bits: int, solver: dict[str, Any]
) -> chroma_section.Chroma:
    """Factor the chroma planes (flat ones are stored as constants); ``solver`` holds
    :func:`codec.nmf.factorize`'s keyword arguments."""
    from codec.nmf import factorize  # imports torch, which decoding never needs

    n, m = cb.shape
    used_rank = min(rank, n, m)
    flat = [float(p.max() - p.min()) < chroma_section.FLAT_SPREAD for p in (cb, cr)]
    stored: dict[int, chroma_section.Plane] = {
        i: chroma_section.Plane(n, m, None, float(p.mean()))
        for i, p in enumerate((cb, cr))
        if flat[i]
    }
    varied = [i for i in range(2) if not flat[i]]
    run = 0
    if varied:
        V = np.stack([(cb, cr)[i] for i in varied]) / np.float32(255)
        result = factorize(V, used_rank, **solver)
        run = result.iterations
        for i, W, H in zip(varied, result.W.cpu().numpy(), result.H.cpu().numpy(), strict=True):
            stored[i] = chroma_section.Plane(n, m, quantize(W, H, bits))
    return chroma_section.Chroma(
        chroma_section.Layout.FULL_PLANE,
        chroma_section.Algorithm.of(solver["algorithm"]),
        registry.get(solver["init"]).code,
        bits,
        rank,
        run,
        (stored[0], stored[1]),
    )


def encode(
    image: Image.Image | np.ndarray,
    *,
    rank: int = 20,
    iterations: int = 150,
    init: str = DEFAULT_INIT,
    algorithm: str = "mu",
    device: str = "auto",
    seed: int = 0,
    tol: float = 0.0,
    luma: str = planes.AUTO,
    bits: int = 8,
    icc_profile: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """Compress an image to .nmfz bytes.

    ``image`` is a PIL image (any mode; see :mod:`codec.image_io` for conversions) or a uint8
    array (h, w), (h, w, 2), (h, w, 3) or (h, w, 4). ``rank`` is capped at min(h, w).
    ``luma`` names the lossless coder of Y' and alpha (``codec.planes.CODERS``, or
    ``"auto"``: see :data:`codec.planes.AUTO`). A PIL image's
    own ICC profile is kept unless ``icc_profile`` is given. ``progress(done, total)`` is
    called after each refinement iteration.
    """
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    if luma != planes.AUTO and luma not in planes.CODERS:
        choices = sorted([*planes.CODERS, planes.AUTO])
        raise ValueError(f"luma must be one of {choices}, got {luma!r}")
    registry.get(init)  # both raise ValueError naming the choices
    chroma_section.Algorithm.of(algorithm)
    pixels, own_icc = to_array(image)
    icc = icc_profile or own_icc
    mode = Mode[CHANNELS[1 if pixels.ndim == 2 else pixels.shape[2]]]
    height, width = pixels.shape[:2]
    chroma = None
    if mode.has_color:
        y, cb, cr = rgb_to_ycbcr(pixels[..., :3])
        solver = {"init": init, "iterations": iterations, "algorithm": algorithm}
        solver |= {"device": device, "seed": seed, "tol": tol, "progress": progress}
        chroma = _factor_chroma(cb, cr, rank, bits, solver)
    else:
        y = pixels if pixels.ndim == 2 else pixels[..., 0]
    sections = [Section(SectionKind.LUMA, *planes.encode_plane(y, luma))]
    if chroma is not None:
        sections.append(Section(SectionKind.CHROMA, 0, chroma_section.pack(chroma)))
    if mode.has_alpha:
        sections.append(Section(SectionKind.ALPHA, *planes.encode_plane(pixels[..., -1], luma)))
    if icc:
        compressed = compression.compress(icc)
        sections.append(Section(SectionKind.ICC, planes.PlaneCoder.ZSTD, compressed))
    return pack(Container(mode, width, height, tuple(sections)))


def _plane(container: Container, kind: SectionKind) -> np.ndarray:
    section = container.section(kind)
    assert section is not None  # unpack() guarantees the sections a mode needs
    if section.coder not in planes.PlaneCoder._value2member_map_:
        raise FormatError(f"unknown plane coder {section.coder} in the {kind.name} section")
    shape = (container.height, container.width)
    return planes.decode_plane(section.payload, planes.PlaneCoder(section.coder), shape)


def _icc(container: Container) -> bytes | None:
    section = container.section(SectionKind.ICC)
    if section is None:
        return None
    return compression.decompress(section.payload, MAX_ICC_BYTES, "ICC profile")


def decode_with_profile(
    data: bytes, *, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, bytes | None]:
    """:func:`decode`, and the ICC profile stored with the image (or None)."""
    container = unpack(data, max_pixels=max_pixels)
    y = _plane(container, SectionKind.LUMA)
    channels = [y]
    if container.mode.has_color:
        section = container.section(SectionKind.CHROMA)
        assert section is not None
        stored = chroma_section.unpack(section.payload, container.height, container.width)
        cb, cr = (plane.render() for plane in stored.planes)
        rgb = ycbcr_to_rgb(y, cb, cr)
        channels = [rgb[..., 0], rgb[..., 1], rgb[..., 2]]
    if container.mode.has_alpha:
        channels.append(_plane(container, SectionKind.ALPHA))
    pixels = channels[0] if len(channels) == 1 else np.stack(channels, -1)
    return pixels, _icc(container)


def decode(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decompress .nmfz bytes to a uint8 array (h, w), (h, w, 2), (h, w, 3) or (h, w, 4).

    Raises :class:`FormatError` for any malformed input, and for images over ``max_pixels``.
    """
    return decode_with_profile(data, max_pixels=max_pixels)[0]


def decode_luma(data: bytes, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Only the stored Y' plane (h, w) uint8, exactly as the encoder computed it."""
    return _plane(unpack(data, max_pixels=max_pixels), SectionKind.LUMA)


def inspect(data: bytes, *, max_pixels: int = MAX_PIXELS) -> dict[str, Any]:
    """The header of a .nmfz stream as a JSON-ready dict (verifies every checksum)."""
    container = unpack(data, max_pixels=max_pixels)
    info: dict[str, Any] = {
        "width": container.width,
        "height": container.height,
        "mode": container.mode.name,
        "bytes": len(data),
        "bpp": 8 * len(data) / (container.width * container.height),
        "sections": [
            {
                "kind": SectionKind(s.kind).name.lower(),
                "coder": planes.PlaneCoder(s.coder).name.lower()
                if s.kind != SectionKind.CHROMA and s.coder in planes.PlaneCoder._value2member_map_
                else None,
                "bytes": len(s.payload),
            }
            for s in container.sections
        ],
    }
    section = container.section(SectionKind.CHROMA)
    if section is not None:
        stored = chroma_section.unpack(section.payload, container.height, container.width)
        known = stored.algorithm in chroma_section.Algorithm._value2member_map_
        info["chroma"] = {
            "layout": stored.layout.name.lower(),
            "algorithm": chroma_section.Algorithm(stored.algorithm).solver
            if known
            else f"unknown-{stored.algorithm}",
            "init": registry.name_of(stored.init),
            "rank": stored.rank,
            "plane_ranks": [
                0 if p.factors is None else p.factors.w.shape[1] for p in stored.planes
            ],
            "iterations": stored.iterations,
            "bits": stored.bits,
        }
    return info
