"""Figures: the factor statistics (thesis Figs. 3.2, 3.3), a training run (Fig. 4.1) and the
grid summary per hyperparameter (Fig. 5.1). matplotlib is imported inside each function."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from nmfnet.stats import PARAMETERS, FactorStats, draw_parameters, sorted_normalized

LABELS = {"mu_w": "μ_W", "sigma_w": "σ_W", "mu_h": "μ_H", "sigma_h": "σ_H"}


def _figure(rows: int, cols: int, size: tuple[float, float]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=size, squeeze=False)


def plot_stats(quadruplets: np.ndarray, stats: FactorStats, path: Path, draws: int = 2000) -> None:
    """Top row: sorted, normalized data with the fitted polynomials (Fig. 3.2). Bottom row:
    the model, curve ± c·σ and draws of Algorithm 2, normalized (Fig. 3.3)."""
    fig, axes = _figure(2, 4, (16, 7))
    data, _, _ = sorted_normalized(quadruplets)
    z = np.linspace(0, 1, len(data))
    grid = np.linspace(0, 1, 200)
    generator = torch.Generator().manual_seed(0)
    seeds = torch.rand(draws, generator=generator, dtype=torch.float64)
    drawn = draw_parameters(stats, seeds, generator)
    for j, name in enumerate(PARAMETERS):
        model = stats.parameters[name]
        curve = np.polyval(model.coefficients, grid)
        top, bottom = axes[0, j], axes[1, j]
        top.scatter(z, data[:, j], s=8, label="data")
        top.plot(grid, curve, color="C1", label=f"degree {len(model.coefficients) - 1}")
        top.set_title(f"{LABELS[name]}: fit (σ_α = {model.sigma:.3f})")
        normalized = (drawn[name].numpy() - model.low) / (model.high - model.low)
        bottom.scatter(seeds.numpy(), normalized, s=2, alpha=0.3, color="C2", label="draws")
        band = model.correction * model.sigma
        bottom.fill_between(grid, curve - band, curve + band, alpha=0.3, color="C1")
        bottom.plot(grid, curve, color="C1")
        bottom.set_title(f"{LABELS[name]}: model (c = {model.correction})")
        for ax in (top, bottom):
            ax.set_xlabel("z")
        top.legend(fontsize=8)
    fig.suptitle(
        f"Factor statistics, r = {stats.rank}, {stats.samples} planes (normalized to [0, 1])"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_training(records: list[dict[str, float]], step_losses: list[float], path: Path) -> None:
    """Train loss per step, validation loss and SSIM per epoch (Fig. 4.1, top)."""
    fig, axes = _figure(1, 3, (15, 4))
    axes[0, 0].plot(step_losses)
    axes[0, 0].set(title="train loss", xlabel="step", yscale="log")
    epochs = [r["epoch"] for r in records]
    axes[0, 1].plot(epochs, [r["val_loss"] for r in records], marker="o")
    axes[0, 1].set(title="validation loss", xlabel="epoch")
    axes[0, 2].plot(epochs, [r["val_ssim"] for r in records], marker="o")
    axes[0, 2].set(title="validation SSIM", xlabel="epoch")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_grid(rows: list[dict[str, str]], path: Path, metric: str = "val_loss") -> None:
    """Per loss function (rows) and hyperparameter (columns): violins of ``metric`` per value
    and the line through their means (Fig. 5.1)."""
    losses = sorted({r["loss"] for r in rows})
    fig, axes = _figure(len(losses), 3, (15, 4 * len(losses)))
    for i, loss in enumerate(losses):
        mine = [r for r in rows if r["loss"] == loss]
        for j, key in enumerate(("window", "funnel", "depth")):
            values = sorted({float(r[key]) for r in mine})
            groups = [[float(r[metric]) for r in mine if float(r[key]) == v] for v in values]
            ax = axes[i, j]
            ax.violinplot(groups, positions=range(len(values)), showextrema=False)
            ax.plot(range(len(values)), [np.mean(g) for g in groups], color="C1", marker="o")
            ax.set_xticks(range(len(values)), [f"{v:g}" for v in values])
            ax.set(title=f"{loss.upper()}: {key}", ylabel=metric)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
