"""The NMFNet model: WNet predicts W from windows of rows, HNet predicts H from the transpose.

Orientation V ≈ W·H with V (n, m), W (n, r), H (r, m). The thesis architecture: a sliding
window of k adjacent rows (zero-padded by (k−1)/2 top and bottom) is flattened and fed to a
*semi-autoencoder*: a funnel of bias-free dense layers whose widths shrink by the factor f
(kept while wider than r), then a gooseneck of d layers of width r. LeakyReLU(0.01) follows
every layer but the last, which is linear in training and ReLU at inference. With this
layout the parameter counts of the thesis grid come out exactly (13,920 to 20,476,806;
median 1,622,014).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    """Hyperparameters of one NMFNet; ``rows`` × ``cols`` is the plane size it is built for."""

    rank: int = 20
    window: int = 1
    funnel: float = 7.5
    depth: int = 10
    rows: int = 204
    cols: int = 308

    def __post_init__(self) -> None:
        if self.window < 1 or self.window % 2 == 0:
            raise ValueError(f"window must be a positive odd integer, got {self.window}")
        if self.funnel <= 1:
            raise ValueError(f"funnel must be > 1, got {self.funnel}")
        if self.depth < 1 or self.rank < 1:
            raise ValueError(f"depth and rank must be >= 1, got {self.depth} and {self.rank}")

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def layer_widths(inputs: int, funnel: float, rank: int, depth: int) -> list[int]:
    """Widths from the input to the output: the funnel ``int(inputs / f**i)`` while wider
    than ``rank``, then ``depth`` layers of width ``rank``."""
    widths = [inputs]
    while int(inputs / funnel ** len(widths)) > rank:
        widths.append(int(inputs / funnel ** len(widths)))
    return widths + [rank] * depth


def row_windows(V: torch.Tensor, window: int) -> torch.Tensor:
    """(B, n, m) → (B, n, window·m): row i and (window−1)/2 zero-padded neighbours each side."""
    half = (window - 1) // 2
    padded = nn.functional.pad(V, (0, 0, half, half))
    # unfold gives (B, n, m, window); put the window before the columns, then flatten.
    return padded.unfold(-2, window, 1).transpose(-1, -2).flatten(-2)


class WNet(nn.Module):
    """Sliding window + semi-autoencoder: one row of W per row of V.

    Shape: V (B, n, length) → W (B, n, rank); ``length`` is fixed by the layer sizes.
    """

    def __init__(self, length: int, config: NetConfig) -> None:
        super().__init__()
        self.window = config.window
        widths = layer_widths(config.window * length, config.funnel, config.rank, config.depth)
        layers: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(fan_in, fan_out, bias=False), nn.LeakyReLU(0.01)]
        self.layers = nn.Sequential(*layers[:-1])

    def forward(self, V: torch.Tensor) -> torch.Tensor:
        out = self.layers(row_windows(V, self.window))
        # Linear output in training keeps the gradient alive; ReLU makes inference non-negative.
        return out if self.training else out.clamp_min(0)


class NMFNet(nn.Module):
    """WNet for W (input rows of length ``cols``) and HNet for H (the transposed plane).

    Shape: V (B, rows, cols) → W (B, rows, rank), H (B, rank, cols).
    """

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.wnet = WNet(config.cols, config)
        self.hnet = WNet(config.rows, config)

    def forward(self, V: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.wnet(V), self.hnet(V.mT).mT


def parameter_count(config: NetConfig) -> int:
    """Number of weights of the NMFNet for ``config`` (no biases)."""
    total = 0
    for length in (config.cols, config.rows):
        widths = layer_widths(config.window * length, config.funnel, config.rank, config.depth)
        total += sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return total
