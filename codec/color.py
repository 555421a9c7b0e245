"""R'G'B' ↔ Y'CbCr, ITU-R BT.601 full range (the JPEG/JFIF matrix), computed in float.

Y' is rounded to 8 bits (it is coded losslessly); Cb and Cr stay float in [0, 255] with the
offset 128, so chroma carries no rounding of its own.
"""

from __future__ import annotations

import numpy as np

_KR, _KB = 0.299, 0.114
_KG = 1.0 - _KR - _KB
FORWARD = np.array(
    [
        [_KR, _KG, _KB],
        [-0.5 * _KR / (1 - _KB), -0.5 * _KG / (1 - _KB), 0.5],
        [0.5, -0.5 * _KG / (1 - _KR), -0.5 * _KB / (1 - _KR)],
    ]
)
"""Rows give Y', Cb − 128, Cr − 128 from R', G', B'."""
INVERSE = np.linalg.inv(FORWARD)
INVERSE[np.abs(INVERSE) < 1e-12] = 0.0  # exact zeros (R has no Cb term, B no Cr term)
OFFSET = 128.0


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, w, 3) uint8 → Y' (h, w) uint8, Cb and Cr (h, w) float32 in [0, 255]."""
    ycc = rgb.astype(np.float32) @ FORWARD.T.astype(np.float32)
    y = np.clip(np.rint(ycc[..., 0]), 0, 255).astype(np.uint8)
    return y, ycc[..., 1] + np.float32(OFFSET), ycc[..., 2] + np.float32(OFFSET)


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """Y' (h, w) uint8 and float Cb, Cr → (h, w, 3) uint8, rounded and clipped."""
    luma = y.astype(np.float32)
    offsets = (
        cb.astype(np.float32) - np.float32(OFFSET),
        cr.astype(np.float32) - np.float32(OFFSET),
    )
    rgb = np.empty((*y.shape, 3), np.uint8)
    for channel, (_, kb, kr) in enumerate(INVERSE.astype(np.float32)):
        value = luma.copy()  # the Y' coefficient is exactly 1
        for k, offset in ((kb, offsets[0]), (kr, offsets[1])):
            if k != 0:
                value += k * offset
        rgb[..., channel] = np.clip(np.rint(value, out=value), 0, 255, out=value)
    return rgb
