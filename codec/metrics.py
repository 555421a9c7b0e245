"""Image quality measures on uint8 images (data range 255)."""

from __future__ import annotations

import math

import numpy as np


def mse(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean squared error over all pixels and channels."""
    if reference.shape != test.shape:
        raise ValueError(f"shapes differ: {reference.shape} and {test.shape}")
    diff = reference.astype(np.float64) - test.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(reference: np.ndarray, test: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB; ``inf`` for identical images."""
    error = mse(reference, test)
    return math.inf if error == 0 else 10 * math.log10(peak * peak / error)


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Structural similarity (scikit-image, Gaussian-free 7×7 windows, ``data_range=255``),
    averaged over channels for colour images."""
    from skimage.metrics import structural_similarity

    if reference.shape != test.shape:
        raise ValueError(f"shapes differ: {reference.shape} and {test.shape}")
    if min(reference.shape[:2]) < 7:
        return 1.0 if np.array_equal(reference, test) else float("nan")
    channel_axis = 2 if reference.ndim == 3 else None
    return float(structural_similarity(reference, test, data_range=255, channel_axis=channel_axis))
