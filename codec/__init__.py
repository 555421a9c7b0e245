"""nmfz: an image codec built on non-negative matrix factorization.

``encode(image) -> bytes`` and ``decode(bytes) -> numpy.ndarray`` are pure and symmetric;
``codec.nmf`` holds the solvers (it imports torch; decoding does not).
"""

from codec.container import MAX_PIXELS
from codec.encoder import decode, decode_luma, decode_with_profile, encode, inspect
from codec.errors import FormatError, ImageWarning

__version__ = "0.1.0"
__all__ = [
    "MAX_PIXELS",
    "FormatError",
    "ImageWarning",
    "decode",
    "decode_luma",
    "decode_with_profile",
    "encode",
    "inspect",
    "__version__",
]
