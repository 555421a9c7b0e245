"""zstd, the project's one general-purpose entropy coder, with reads bounded in size."""

from __future__ import annotations

import io

import zstandard

from codec.errors import FormatError

LEVEL = 19


def compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=LEVEL).compress(data)


def decompress(data: bytes, limit: int, what: str) -> bytes:
    """Decompress at most ``limit`` bytes; more, or a damaged frame, is a FormatError.

    Streams instead of trusting the frame's declared size, so a crafted frame cannot make
    the reader allocate more than ``limit``.
    """
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)) as reader:
            out = reader.read(limit + 1)
    except zstandard.ZstdError as error:
        raise FormatError(f"{what} does not decompress: {error}") from error
    if len(out) > limit:
        raise FormatError(f"{what} decompresses to more than {limit} bytes")
    return out
