"""The exceptions the codec raises for bad input."""


class FormatError(ValueError):
    """A .nmfz stream is malformed: wrong magic, unknown version, truncated, corrupt or
    impossible. The one exception that decoding raises for bad data."""


class ImageWarning(UserWarning):
    """An input image was converted in a way that loses information (e.g. 16 → 8 bits)."""
