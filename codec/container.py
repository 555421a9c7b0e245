"""The .nmfz container: a fixed big-endian header, then checksummed sections.

Layout (all integers big-endian)::

    header   magic "NMFZ" | version u8 | mode u8 | flags u16 | width u32 | height u32
             | section count u16 | CRC-32 of the preceding 18 bytes u32
    section  kind u8 | coder u8 | length u32 | payload (length bytes)
             | CRC-32 of kind, coder, length and payload u32

Section kinds below 128 are critical: a reader that does not know one must refuse the file.
Kinds from 128 up are ancillary and are skipped by readers that do not know them.
Every on-disk enum has fixed values; never renumber them.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from codec.errors import FormatError

MAGIC = b"NMFZ"
VERSION = 1
MAX_PIXELS = 2**28
"""Default cap on width × height when reading (268 Mpx): a decompression-bomb guard."""

_HEADER = struct.Struct(">4sBBHIIH")
_SECTION = struct.Struct(">BBI")
_CRC = struct.Struct(">I")
_ANCILLARY = 128


class Mode(IntEnum):
    """Channels of the image; on-disk values."""

    L = 1
    LA = 2
    RGB = 3
    RGBA = 4

    @property
    def has_color(self) -> bool:
        return self in (Mode.RGB, Mode.RGBA)

    @property
    def has_alpha(self) -> bool:
        return self in (Mode.LA, Mode.RGBA)


class SectionKind(IntEnum):
    """On-disk section kinds."""

    LUMA = 1
    CHROMA = 2
    ALPHA = 3
    ICC = 128  # ancillary: an ICC profile, zstd-compressed


@dataclass(frozen=True)
class Section:
    kind: int
    coder: int
    payload: bytes


@dataclass(frozen=True)
class Container:
    mode: Mode
    width: int
    height: int
    sections: tuple[Section, ...]

    def section(self, kind: SectionKind) -> Section | None:
        return next((s for s in self.sections if s.kind == kind), None)


def pack(container: Container) -> bytes:
    """Serialize; the inverse of :func:`unpack`."""
    head = _HEADER.pack(
        MAGIC,
        VERSION,
        container.mode,
        0,
        container.width,
        container.height,
        len(container.sections),
    )
    parts = [head, _CRC.pack(zlib.crc32(head))]
    for section in container.sections:
        body = _SECTION.pack(section.kind, section.coder, len(section.payload)) + section.payload
        parts += [body, _CRC.pack(zlib.crc32(body))]
    return b"".join(parts)


def _required(mode: Mode) -> set[int]:
    kinds = {SectionKind.LUMA}
    if mode.has_color:
        kinds.add(SectionKind.CHROMA)
    if mode.has_alpha:
        kinds.add(SectionKind.ALPHA)
    return {int(k) for k in kinds}


def unpack(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Container:
    """Parse and verify a container; raise :class:`FormatError` for anything malformed."""
    data = bytes(data)
    if len(data) < _HEADER.size + _CRC.size:
        raise FormatError(f"truncated: {len(data)} bytes is shorter than the header")
    magic, version, mode, flags, width, height, count = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FormatError(f"not an .nmfz stream (magic {magic!r}, expected {MAGIC!r})")
    (crc,) = _CRC.unpack_from(data, _HEADER.size)
    if crc != zlib.crc32(data[: _HEADER.size]):
        raise FormatError("header checksum mismatch")
    if version != VERSION:
        raise FormatError(f"format version {version} is not supported (this reader: {VERSION})")
    if mode not in Mode._value2member_map_:
        raise FormatError(f"unknown image mode {mode}")
    if flags != 0:
        raise FormatError(f"unknown header flags {flags:#06x}")
    if width == 0 or height == 0:
        raise FormatError(f"impossible image size {width}x{height}")
    if width * height > max_pixels:
        raise FormatError(
            f"image of {width}x{height} = {width * height} pixels exceeds the limit of "
            f"{max_pixels} pixels"
        )
    sections: list[Section] = []
    offset = _HEADER.size + _CRC.size
    for index in range(count):
        if len(data) < offset + _SECTION.size:
            raise FormatError(f"truncated in the header of section {index}")
        kind, coder, length = _SECTION.unpack_from(data, offset)
        end = offset + _SECTION.size + length
        if len(data) < end + _CRC.size:
            raise FormatError(f"truncated in section {index} ({length} bytes declared)")
        (crc,) = _CRC.unpack_from(data, end)
        if crc != zlib.crc32(data[offset:end]):
            raise FormatError(f"checksum mismatch in section {index}")
        if any(s.kind == kind for s in sections):
            raise FormatError(f"section kind {kind} appears twice")
        if kind in SectionKind._value2member_map_:
            sections.append(Section(kind, coder, data[offset + _SECTION.size : end]))
        elif kind < _ANCILLARY:
            raise FormatError(f"unknown critical section kind {kind}")
        offset = end + _CRC.size
    if offset != len(data):
        raise FormatError(f"{len(data) - offset} unexpected bytes after the last section")
    container = Container(Mode(mode), width, height, tuple(sections))
    missing = _required(container.mode) - {s.kind for s in sections}
    if missing:
        names = ", ".join(SectionKind(k).name for k in sorted(missing))
        raise FormatError(f"{container.mode.name} image lacks its {names} section")
    stray = {s.kind for s in sections} - _required(container.mode) - {SectionKind.ICC}
    if stray:
        names = ", ".join(SectionKind(k).name for k in sorted(stray))
        raise FormatError(f"{container.mode.name} image has unexpected {names} section")
    return container
