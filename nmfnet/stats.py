"""The statistical model of NMF factors (thesis §3.1.3) and synthetic factors drawn from it.

Fit: factor every plane by SED-MU (r = 20, 400 iterations); per plane take the sample mean
and standard deviation of W and of H; normalize each of the four to [0, 1] over the data set
(keeping min and max); sort the quadruplets by μ̂_W; fit polynomials in z ∈ [0, 1] (the
sorted position): degree 5 for μ_W and σ_W, 3 for μ_H and σ_H; σ_α is the standard
deviation of parameter α around its curve. Draw (Algorithm 2): z ~ U(0, 1), then
α = (p_α(z) + U(−1, 1)·c_α·σ_α)·(max − min) + min with c = (0, 0.5, 1, 1).

The thesis is silent on negative values. Here a parameter drawn below 0 is set to 0 (σ to a
tiny floor), and factor entries are drawn from N(μ, σ²) *truncated* to [0, ∞) — a negative
draw is redrawn, done exactly by the inverse CDF — so the factors keep their shape without
the spike at 0 that clipping would add.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

PARAMETERS = ("mu_w", "sigma_w", "mu_h", "sigma_h")
DEGREES = {"mu_w": 5, "sigma_w": 5, "mu_h": 3, "sigma_h": 3}
CORRECTIONS = {"mu_w": 0.0, "sigma_w": 0.5, "mu_h": 1.0, "sigma_h": 1.0}
DEFAULT_PATH = Path(__file__).with_name("stats_r20.json")
_SIGMA_FLOOR = 1e-6


@dataclass(frozen=True)
class ParameterModel:
    """p_α as numpy polyfit coefficients (highest power first), σ_α, the rescale range, c_α."""

    coefficients: list[float]
    sigma: float
    low: float
    high: float
    correction: float


@dataclass(frozen=True)
class FactorStats:
    rank: int
    parameters: dict[str, ParameterModel]
    samples: int

    def save(self, path: Path) -> None:
        data = {
            "rank": self.rank,
            "samples": self.samples,
            "parameters": {k: asdict(v) for k, v in self.parameters.items()},
        }
        Path(path).write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> FactorStats:
        data = json.loads(Path(path).read_text())
        params = {k: ParameterModel(**data["parameters"][k]) for k in PARAMETERS}
        return cls(data["rank"], params, data["samples"])


def factor_quadruplets(
    planes: torch.Tensor, rank: int = 20, iterations: int = 400, seed: int = 0
) -> np.ndarray:
    """(N, n, m) planes → (N, 4) per-plane (mean W, std W, mean H, std H) after SED-MU."""
    from codec.nmf import factorize

    fact = factorize(planes, rank, init="random", iterations=iterations, algorithm="mu", seed=seed)
    W, H = fact.W.double(), fact.H.double()
    columns = [W.mean((1, 2)), W.std((1, 2)), H.mean((1, 2)), H.std((1, 2))]
    return torch.stack(columns, 1).numpy()


def sorted_normalized(quadruplets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadruplets min–max normalized per column and sorted by μ̂_W; returns (data, min, max)."""
    low, high = quadruplets.min(0), quadruplets.max(0)
    data = (quadruplets - low) / np.where(high > low, high - low, 1.0)
    return data[np.argsort(data[:, 0], kind="stable")], low, high


def fit_stats(quadruplets: np.ndarray, rank: int = 20) -> FactorStats:
    """Polynomial model of the (N, 4) quadruplets (N must exceed the degree 5)."""
    if (
        quadruplets.ndim != 2
        or quadruplets.shape[1] != 4
        or len(quadruplets) <= max(DEGREES.values())
    ):
        raise ValueError(f"need (N > 5, 4) quadruplets, got shape {quadruplets.shape}")
    data, low, high = sorted_normalized(quadruplets)
    z = np.linspace(0, 1, len(data))
    params = {}
    for j, name in enumerate(PARAMETERS):
        coefficients = np.polyfit(z, data[:, j], DEGREES[name])
        residual = data[:, j] - np.polyval(coefficients, z)
        params[name] = ParameterModel(
            [float(c) for c in coefficients],
            float(residual.std()),
            float(low[j]),
            float(high[j]),
            CORRECTIONS[name],
        )
    return FactorStats(rank, params, len(data))


def draw_parameters(
    stats: FactorStats, z: torch.Tensor, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Algorithm 2 at seeds z (count,) float64 in [0, 1]: each parameter (count,), ≥ 0."""
    out = {}
    for name in PARAMETERS:
        model = stats.parameters[name]
        spread = 2 * torch.rand(z.shape, generator=generator, dtype=torch.float64) - 1
        value = torch.from_numpy(np.polyval(model.coefficients, z.numpy()))
        value = (value + spread * model.correction * model.sigma) * (
            model.high - model.low
        ) + model.low
        out[name] = value.clamp_min(_SIGMA_FLOOR if name.startswith("sigma") else 0.0)
    return out


def truncated_normal(
    mean: torch.Tensor, std: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator
) -> torch.Tensor:
    """N(mean, std²) conditioned on ≥ 0, by inverse CDF; mean and std broadcast against shape."""
    lower = torch.special.ndtr(-mean / std)
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    u = (lower + u * (1 - lower)).clamp(1e-12, 1 - 1e-12)
    return (mean + std * torch.special.ndtri(u)).clamp_min(0)


def synthetic_factors(
    stats: FactorStats, batch: int, rows: int, cols: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(V, W, H) float32 with V = W·H: (batch, rows, cols), (batch, rows, r), (batch, r, cols)."""
    z = torch.rand(batch, generator=generator, dtype=torch.float64)
    p = {k: v[:, None, None] for k, v in draw_parameters(stats, z, generator).items()}
    W = truncated_normal(p["mu_w"], p["sigma_w"], (batch, rows, stats.rank), generator)
    H = truncated_normal(p["mu_h"], p["sigma_h"], (batch, stats.rank, cols), generator)
    return (W @ H).float(), W.float(), H.float()
