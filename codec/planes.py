"""Lossless coders for 8-bit planes (luma and alpha), looked up by name or on-disk id.

Kodak luma, bits per pixel: JPEG-LS 4.34 (12 ms), JPEG-XL lossless 4.21 (0.33 s),
PNG 4.67, zstd-19 5.64. JPEG-LS is the default: nearly JPEG-XL's size at a thirtieth the time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import imagecodecs
import numpy as np

from codec import compression
from codec.errors import FormatError


class PlaneCoder(IntEnum):
    """On-disk ids of the plane coders; never renumber."""

    JPEGLS = 1
    JPEGXL = 2
    PNG = 3
    ZSTD = 4


def _jpegls_encode(plane: np.ndarray) -> bytes:
    # charls needs an output buffer; noise can exceed the raw size, so leave room.
    return bytes(imagecodecs.jpegls_encode(plane, out=plane.size * 2 + 1024))


def _jpegls_dims(data: bytes) -> tuple[int, int] | None:
    """(height, width) from the JPEG-LS start-of-frame marker (0xFFF7), if present."""
    at = data.find(b"\xff\xf7")
    if at < 0 or len(data) < at + 9:
        return None
    height, width = struct.unpack(">HH", data[at + 5 : at + 9])
    return height, width


_JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
_JXL_RATIOS = {1: (1, 1), 2: (12, 10), 3: (4, 3), 4: (3, 2), 5: (16, 9), 6: (5, 4), 7: (2, 1)}


def _jpegxl_dims(data: bytes) -> tuple[int, int]:
    """(height, width) from a JPEG XL codestream's SizeHeader (ISO/IEC 18181-1, A.2), bare or
    inside the box container. Bits are read least significant first, after 0xFF 0x0A.
    """
    start = 0
    if data.startswith(_JXL_CONTAINER):  # ISO BMFF boxes: the codestream is in jxlc or jxlp
        boxes = [(data.find(b"jxlc"), 4), (data.find(b"jxlp"), 8)]  # jxlp has a u32 index
        start = min((at + skip for at, skip in boxes if at >= 0), default=-1)
    if start < 0 or data[start : start + 2] != b"\xff\x0a":
        raise FormatError("JPEGXL plane has no codestream size header")
    bits = int.from_bytes(data[start + 2 : start + 12], "little")
    at = 0

    def take(count: int) -> int:
        nonlocal at
        value = (bits >> at) & ((1 << count) - 1)
        at += count
        return value

    def size() -> int:  # U32(1 + u(9), 1 + u(13), 1 + u(18), 1 + u(30))
        return 1 + take((9, 13, 18, 30)[take(2)])

    small = take(1)
    height = 8 * (take(5) + 1) if small else size()
    ratio = take(3)
    if ratio:
        numerator, denominator = _JXL_RATIOS[ratio]
        width = height * numerator // denominator
    else:
        width = 8 * (take(5) + 1) if small else size()
    return height, width


def _png_dims(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return height, width


def _zstd_encode(plane: np.ndarray) -> bytes:
    return compression.compress(plane.tobytes())


def _zstd_decode(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    raw = compression.decompress(data, shape[0] * shape[1], "ZSTD plane")
    if len(raw) != shape[0] * shape[1]:
        raise FormatError(f"ZSTD plane holds {len(raw)} bytes, expected {shape[0] * shape[1]}")
    return np.frombuffer(raw, np.uint8).reshape(shape)


@dataclass(frozen=True)
class _Coder:
    encode: Callable[[np.ndarray], bytes]
    decode: Callable[[bytes, tuple[int, int]], np.ndarray]  # the data, the expected shape
    dims: Callable[[bytes], tuple[int, int] | None]  # declared size, checked before decoding


CODERS: dict[str, PlaneCoder] = {c.name.lower(): c for c in PlaneCoder}
_IMPL = {
    PlaneCoder.JPEGLS: _Coder(
        _jpegls_encode, lambda data, shape: imagecodecs.jpegls_decode(data), _jpegls_dims
    ),
    PlaneCoder.JPEGXL: _Coder(
        lambda p: bytes(imagecodecs.jpegxl_encode(p, lossless=True, effort=7)),
        lambda data, shape: imagecodecs.jpegxl_decode(data),
        _jpegxl_dims,
    ),
    PlaneCoder.PNG: _Coder(
        lambda p: bytes(imagecodecs.png_encode(p, level=9)),
        lambda data, shape: imagecodecs.png_decode(data),
        _png_dims,
    ),
    PlaneCoder.ZSTD: _Coder(_zstd_encode, _zstd_decode, lambda data: None),
}


AUTO = "auto"
"""Coder choice: JPEG-LS, and for planes of at most ``FEW_LEVELS`` distinct values (text,
1-bit, palette art) also PNG, keeping the smaller."""
FEW_LEVELS = 16


def encode_plane(plane: np.ndarray, coder: PlaneCoder | str) -> tuple[PlaneCoder, bytes]:
    """Code a (h, w) uint8 plane losslessly; returns the coder used and the bytes."""
    plane = np.ascontiguousarray(plane, dtype=np.uint8)
    if coder != AUTO:
        chosen = PlaneCoder(coder) if isinstance(coder, PlaneCoder) else CODERS[coder]
        return chosen, _IMPL[chosen].encode(plane)
    candidates = [PlaneCoder.JPEGLS]
    if np.count_nonzero(np.bincount(plane.ravel(), minlength=256)) <= FEW_LEVELS:
        candidates.append(PlaneCoder.PNG)
    return min(((c, _IMPL[c].encode(plane)) for c in candidates), key=lambda pair: len(pair[1]))


def decode_plane(data: bytes, coder: PlaneCoder, shape: tuple[int, int]) -> np.ndarray:
    """Decode a plane that must come out as ``shape`` uint8; anything else is a FormatError."""
    impl = _IMPL[coder]
    declared = impl.dims(data)
    if declared is not None and declared != shape:
        raise FormatError(f"{coder.name} plane declares size {declared}, expected {shape}")
    try:
        plane = np.asarray(impl.decode(data, shape))
    except FormatError:
        raise
    except Exception as error:  # each imagecodecs codec raises its own class
        raise FormatError(f"{coder.name} plane does not decode: {error}") from error
    if plane.dtype != np.uint8 or plane.shape != shape:
        raise FormatError(
            f"{coder.name} plane decoded to {plane.dtype} {plane.shape}, expected uint8 {shape}"
        )
    return plane
