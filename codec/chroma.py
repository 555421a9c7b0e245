"""The chroma section: Cb and Cr as quantized NMF factors.

Payload layout (big-endian)::

    layout u8 | algorithm u8 | init u8 | bits u8 | rank asked u16 | iterations run u16
    | plane count u8
    per plane: rows u32 | cols u32 | rank u16
               rank 0: the plane's constant value f32 (a flat plane stores no factors)
               else:   W column peaks f32 × rank | H row peaks f32 × rank
    zstd frame: per factored plane, W's codes column by column, then H's codes row by row,
                each run delta-coded (mod 2^bits), big-endian when bits > 8

A plane is the n × m matrix V = chroma / 255 with rows = image rows (layout FULL_PLANE).
Other layouts (downsampled planes, tiles) get new layout ids without breaking the format.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from codec import compression
from codec.errors import FormatError
from codec.quantize import QuantizedFactors, code_dtype

_HEAD = struct.Struct(">BBBBHHB")
_PLANE = struct.Struct(">IIH")
_FLAT = struct.Struct(">f")
_MAX_RANK = 4096
_MAX_SCALE = 65536.0  # factor peaks (and flat values) beyond this are not images
FLAT_SPREAD = 1 / 64
"""A plane whose values span less than this (in 0–255 units) is stored as its mean."""


class Layout(IntEnum):
    """How a chroma plane maps to matrices; on-disk values."""

    FULL_PLANE = 1


class Algorithm(IntEnum):
    """On-disk ids of the refinement algorithms (names as in ``codec.nmf.SOLVERS``)."""

    MU = 1
    MU_KL = 2
    HALS = 3

    @property
    def solver(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def of(cls, solver: str) -> Algorithm:
        names = {a.solver: a for a in cls}
        if solver not in names:
            raise ValueError(f"algorithm must be one of {sorted(names)}, got {solver!r}")
        return names[solver]


@dataclass(frozen=True)
class Plane:
    """One chroma plane as stored: factors, or a constant when ``factors`` is None."""

    rows: int
    cols: int
    factors: QuantizedFactors | None
    constant: float = 0.0

    def render(self) -> np.ndarray:
        """The plane in 0–255 units, (rows, cols) float32."""
        if self.factors is None:
            return np.full((self.rows, self.cols), self.constant, np.float32)
        W, H = self.factors.dequantize()
        return (W @ H) * np.float32(255)


@dataclass(frozen=True)
class Chroma:
    layout: Layout
    algorithm: int
    init: int
    bits: int
    rank: int
    iterations: int
    planes: tuple[Plane, ...]


def _delta(codes: np.ndarray, bits: int) -> np.ndarray:
    """First differences along the last axis, wrapped mod 2^bits (exactly invertible)."""
    wide = codes.astype(np.int64)
    wide[..., 1:] -= codes[..., :-1].astype(np.int64)
    return (wide % (1 << bits)).astype(code_dtype(bits))


def _undelta(deltas: np.ndarray, bits: int) -> np.ndarray:
    return (np.cumsum(deltas.astype(np.int64), -1) % (1 << bits)).astype(code_dtype(bits))


def pack(chroma: Chroma) -> bytes:
    head = [
        _HEAD.pack(
            chroma.layout,
            chroma.algorithm,
            chroma.init,
            chroma.bits,
            chroma.rank,
            chroma.iterations,
            len(chroma.planes),
        )
    ]
    codes = []
    dtype = np.dtype(code_dtype(chroma.bits)).newbyteorder(">")
    for plane in chroma.planes:
        q = plane.factors
        head.append(_PLANE.pack(plane.rows, plane.cols, 0 if q is None else q.w.shape[1]))
        if q is None:
            head.append(_FLAT.pack(plane.constant))
            continue
        head.append(np.concatenate([q.w_scale, q.h_scale]).astype(">f4").tobytes())
        for block in (q.w.T, q.h):
            codes.append(_delta(block, chroma.bits).astype(dtype).tobytes())
    body = compression.compress(b"".join(codes))
    return b"".join(head) + body


def unpack(payload: bytes, height: int, width: int) -> Chroma:
    """Parse a chroma payload for an image of ``height`` × ``width``; FormatError if invalid."""
    if len(payload) < _HEAD.size:
        raise FormatError("chroma section is truncated")
    layout, algorithm, init, bits, rank, iterations, count = _HEAD.unpack_from(payload)
    if layout != Layout.FULL_PLANE:
        raise FormatError(f"unknown chroma layout {layout}")
    if not 1 <= bits <= 16:
        raise FormatError(f"chroma bits {bits} outside [1, 16]")
    if count != 2:
        raise FormatError(f"chroma has {count} planes, expected 2")
    offset = _HEAD.size
    shapes: list[tuple[int, int, int, float | np.ndarray]] = []
    for _ in range(count):
        if len(payload) < offset + _PLANE.size:
            raise FormatError("chroma plane header is truncated")
        rows, cols, plane_rank = _PLANE.unpack_from(payload, offset)
        offset += _PLANE.size
        if (rows, cols) != (height, width):
            raise FormatError(f"chroma plane is {rows}x{cols}, image is {height}x{width}")
        if plane_rank > min(rows, cols, _MAX_RANK):
            raise FormatError(f"chroma rank {plane_rank} impossible for a {rows}x{cols} plane")
        size = _FLAT.size if plane_rank == 0 else 8 * plane_rank
        if len(payload) < offset + size:
            raise FormatError("chroma scales are truncated")
        if plane_rank == 0:
            scales: float | np.ndarray = _FLAT.unpack_from(payload, offset)[0]
        else:
            scales = np.frombuffer(payload, ">f4", 2 * plane_rank, offset).astype(np.float32)
        if not np.all((np.asarray(scales) >= 0) & (np.asarray(scales) <= _MAX_SCALE)):
            raise FormatError(f"chroma scales outside [0, {_MAX_SCALE}]")
        shapes.append((rows, cols, plane_rank, scales))
        offset += size
    dtype = np.dtype(code_dtype(bits)).newbyteorder(">")
    expected = sum(r * (n + m) for n, m, r, _ in shapes) * dtype.itemsize
    raw = compression.decompress(payload[offset:], expected, "chroma factors")
    if len(raw) != expected:
        raise FormatError(f"chroma factors hold {len(raw)} bytes, expected {expected}")
    codes = np.frombuffer(raw, dtype)
    planes = []
    at = 0
    for n, m, r, scales in shapes:
        if r == 0:
            planes.append(Plane(n, m, None, float(scales)))  # type: ignore[arg-type]
            continue
        wt = _undelta(codes[at : at + r * n].reshape(r, n), bits)
        at += r * n
        h = _undelta(codes[at : at + r * m].reshape(r, m), bits)
        at += r * m
        peaks = np.asarray(scales)
        planes.append(Plane(n, m, QuantizedFactors(wt.T, h, peaks[:r], peaks[r:], bits)))
    return Chroma(Layout(layout), algorithm, init, bits, rank, iterations, tuple(planes))
