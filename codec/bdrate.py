"""Bjøntegaard deltas between two rate–distortion curves.

G. Bjøntegaard, "Calculation of average PSNR differences between RD-curves", VCEG-M33, 2001;
the curves are interpolated piecewise-cubic and monotone (PCHIP), as VCEG-AL22 recommends in
place of the original cubic fit, and integrated over the range where both curves have data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _mean_gap(x_a: np.ndarray, y_a: np.ndarray, x_b: np.ndarray, y_b: np.ndarray) -> float | None:
    """Mean of y_b(x) − y_a(x) over the overlap of the x ranges; None without overlap or
    with fewer than two distinct x per curve."""
    from scipy.interpolate import PchipInterpolator

    curves = []
    for x, y in ((x_a, y_a), (x_b, y_b)):
        x, first = np.unique(np.asarray(x, np.float64), return_index=True)
        if x.size < 2:
            return None
        curves.append((x, np.asarray(y, np.float64)[first]))
    low = max(curves[0][0][0], curves[1][0][0])
    high = min(curves[0][0][-1], curves[1][0][-1])
    if not high > low:
        return None
    a, b = (PchipInterpolator(x, y).integrate(low, high) for x, y in curves)
    return float((b - a) / (high - low))


def bd_rate(
    anchor_rate: Sequence[float],
    anchor_quality: Sequence[float],
    test_rate: Sequence[float],
    test_quality: Sequence[float],
) -> float | None:
    """Average rate difference of ``test`` against ``anchor`` at equal quality, in percent
    (+25 means the test needs 25 % more bits); None where the quality ranges do not overlap."""
    gap = _mean_gap(
        np.asarray(anchor_quality), np.log(anchor_rate), np.asarray(test_quality), np.log(test_rate)
    )
    return None if gap is None else float(100 * np.expm1(gap))


def bd_quality(
    anchor_rate: Sequence[float],
    anchor_quality: Sequence[float],
    test_rate: Sequence[float],
    test_quality: Sequence[float],
) -> float | None:
    """Average quality difference (e.g. BD-PSNR in dB) of ``test`` against ``anchor`` at equal
    rate, over the overlap of the log-rate ranges; None where they do not overlap."""
    return _mean_gap(
        np.log(anchor_rate), np.asarray(anchor_quality), np.log(test_rate), np.asarray(test_quality)
    )
