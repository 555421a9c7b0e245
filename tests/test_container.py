"""The .nmfz container: layout, and a clean FormatError for every kind of damage."""

from __future__ import annotations

import contextlib
import struct
import zlib

import numpy as np
import pytest

import codec
from codec import container
from codec.container import Container, Mode, Section, SectionKind


@pytest.fixture(scope="module")
def small_file() -> bytes:
    rng = np.random.default_rng(0)
    pixels = (rng.random((6, 7, 4)) * 255).astype(np.uint8)
    return codec.encode(
        pixels,
        rank=2,
        iterations=3,
        init="nndsvda",
        device="cpu",
        icc_profile=b"fake icc profile bytes",
    )


def test_header_layout_is_fixed(small_file):
    magic, version, mode, flags, width, height, count = struct.unpack(">4sBBHIIH", small_file[:18])
    assert (magic, version, mode, flags) == (b"NMFZ", 1, Mode.RGBA, 0)
    assert (width, height, count) == (7, 6, 4)
    assert struct.unpack(">I", small_file[18:22])[0] == zlib.crc32(small_file[:18])


def test_pack_unpack_round_trip():
    sections = (Section(SectionKind.LUMA, 1, b"abc"), Section(SectionKind.ICC, 4, b""))
    box = Container(Mode.L, 3, 1, sections)
    assert container.unpack(container.pack(box)) == box


def test_every_truncation_is_a_format_error(small_file):
    for length in range(len(small_file)):
        with pytest.raises(codec.FormatError):
            codec.decode(small_file[:length])


def test_every_flipped_byte_is_a_format_error(small_file):
    for offset in range(len(small_file)):
        damaged = bytearray(small_file)
        damaged[offset] ^= 0x5A
        with pytest.raises(codec.FormatError):
            codec.decode(bytes(damaged))


def test_trailing_bytes_are_refused(small_file):
    with pytest.raises(codec.FormatError, match="unexpected bytes after the last section"):
        codec.decode(small_file + b"\0")


def _rewrite_header(data: bytes, **fields: int) -> bytes:
    magic, version, mode, flags, width, height, count = struct.unpack(">4sBBHIIH", data[:18])
    values = {
        "version": version,
        "mode": mode,
        "flags": flags,
        "width": width,
        "height": height,
        "count": count,
        **fields,
    }
    head = struct.pack(
        ">4sBBHIIH",
        magic,
        values["version"],
        values["mode"],
        values["flags"],
        values["width"],
        values["height"],
        values["count"],
    )
    return head + struct.pack(">I", zlib.crc32(head)) + data[22:]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"version": 2}, "format version 2 is not supported"),
        ({"mode": 9}, "unknown image mode 9"),
        ({"flags": 1}, "unknown header flags"),
        ({"width": 0}, "impossible image size"),
        ({"width": 70000, "height": 70000}, "exceeds the limit"),
        ({"count": 2}, "unexpected bytes"),
        ({"count": 9}, "truncated"),
        ({"mode": Mode.RGB}, "unexpected ALPHA section"),
        ({"width": 8}, "plane is 6x7, image is 6x8|declares size"),
    ],
)
def test_impossible_headers_are_named(small_file, fields, message):
    with pytest.raises(codec.FormatError, match=message):
        codec.decode(_rewrite_header(small_file, **fields))


def test_wrong_magic():
    with pytest.raises(codec.FormatError, match="not an .nmfz stream"):
        codec.decode(b"\x89PNG\r\n\x1a\n" + bytes(40))


def test_pixel_limit_is_configurable(small_file):
    assert codec.decode(small_file, max_pixels=42).shape == (6, 7, 4)
    with pytest.raises(codec.FormatError, match="exceeds the limit of 41 pixels"):
        codec.decode(small_file, max_pixels=41)


def _section(kind: int, payload: bytes) -> bytes:
    body = struct.pack(">BBI", kind, 0, len(payload)) + payload
    return body + struct.pack(">I", zlib.crc32(body))


def test_unknown_ancillary_sections_are_skipped_and_critical_ones_refused(small_file):
    count = struct.unpack(">H", small_file[16:18])[0]
    ancillary = _rewrite_header(small_file + _section(200, b"future"), count=count + 1)
    assert np.array_equal(codec.decode(ancillary), codec.decode(small_file))
    critical = _rewrite_header(small_file + _section(50, b"future"), count=count + 1)
    with pytest.raises(codec.FormatError, match="unknown critical section kind 50"):
        codec.decode(critical)


def test_missing_section_is_named():
    box = Container(Mode.RGB, 2, 2, (Section(SectionKind.LUMA, 1, b""),))
    with pytest.raises(codec.FormatError, match="lacks its CHROMA section"):
        container.unpack(container.pack(box))


def test_inspect_reports_the_header(small_file):
    info = codec.inspect(small_file)
    assert (info["width"], info["height"], info["mode"]) == (7, 6, "RGBA")
    assert [s["kind"] for s in info["sections"]] == ["luma", "chroma", "alpha", "icc"]
    assert info["chroma"]["init"] == "nndsvda" and info["chroma"]["iterations"] == 3
    assert info["chroma"]["plane_ranks"] == [2, 2] and info["bytes"] == len(small_file)


def test_garbage_behind_valid_checksums_is_a_format_error(small_file):
    """A crafted file passes every CRC: inner decoders must still fail cleanly."""
    rng = np.random.default_rng(0)
    box = container.unpack(small_file)
    for _ in range(300):
        sections = list(box.sections)
        index = int(rng.integers(len(sections)))
        payload = bytearray(sections[index].payload)
        for _ in range(int(rng.integers(1, 4))):
            payload[int(rng.integers(len(payload)))] = int(rng.integers(256))
        sections[index] = Section(sections[index].kind, sections[index].coder, bytes(payload))
        crafted = container.pack(Container(box.mode, box.width, box.height, tuple(sections)))
        with contextlib.suppress(codec.FormatError):  # anything else fails the test
            codec.decode(crafted)


def test_a_zstd_bomb_is_refused(small_file):
    import zstandard

    bomb = zstandard.ZstdCompressor().compress(bytes(17 << 20))  # 17 MiB of zeros, ~1 KB
    box = container.unpack(small_file)
    sections = tuple(
        Section(s.kind, s.coder, bomb if s.kind == SectionKind.ICC else s.payload)
        for s in box.sections
    )
    crafted = container.pack(Container(box.mode, box.width, box.height, sections))
    with pytest.raises(codec.FormatError, match="ICC profile decompresses to more than"):
        codec.decode(crafted)
