"""From the network's (W, H) to the factors the codec's MU refine starts from.

Shared by the training objectives (differentiable) and inference. Starts:

- ``net``: the predicted factors themselves (floored: an exact zero never moves under MU);
- ``projected``: W from the network, H refitted to it by H-only MU steps;
- ``clustered``: a differentiable soft K-means of V's columns started by the network. The
  network's H, as scores added to a positional prior (r contiguous blocks of columns;
  HNet sees a column's content, not its place), is soft-maxed over components into soft
  assignments; ``LLOYD_STEPS`` soft Lloyd steps
  follow (W = weighted column means, then assignments from the squared distances); H,
  starting from the assignments, is refitted to W by H-only MU steps.

H-only MU steps cost an (r, r)·(r, m) product each once WᵀV is made: far cheaper than
NNLS. (A clamped least-squares H is no substitute: the columns of W are nearly collinear
for chroma, and clamping the least-squares solution multiplies the error tenfold.)

The last two are symmetric: on Vᵀ, WNet plays HNet's part. Inference tries both sides and
keeps the better per plane; training averages the two sides' losses.
"""

from __future__ import annotations

import torch

from codec.nmf import EPS

FLOOR = 1e-3
"""Factors are floored here: an exact zero could never move under MU."""
STARTS = ("net", "projected", "clustered")
H_STEPS = 30
LLOYD_STEPS = 4
PRIOR = 2.0
"""Logit of a column's own block in the prior."""
TEMPERATURE = 0.1
"""Soft Lloyd temperature, relative to the plane's mean distance to the nearest centroid."""


def floored(W: torch.Tensor, H: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-negative factors with no exact zeros."""
    return W.clamp_min(0) + FLOOR, H.clamp_min(0) + FLOOR


def mu_steps(
    V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` Lee–Seung SED updates (W first, as :func:`codec.nmf.factorize`), autograd-safe."""
    for _ in range(steps):
        W = W * (V @ H.mT) / (W @ (H @ H.mT)).clamp_min(EPS)
        H = H * (W.mT @ V) / ((W.mT @ W) @ H).clamp_min(EPS)
    return W, H


def fit_h(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, steps: int = H_STEPS) -> torch.Tensor:
    """``steps`` MU updates of H alone for fixed W."""
    WtV, WtW = W.mT @ V, W.mT @ W
    for _ in range(steps):
        H = H * WtV / (WtW @ H).clamp_min(EPS)
    return H


def block_prior(rank: int, m: int, like: torch.Tensor) -> torch.Tensor:
    """(rank, m): 1 where column j lies in the k-th of rank contiguous blocks, else 0."""
    block = torch.arange(m, device=like.device) * rank // m
    return torch.nn.functional.one_hot(block, rank).to(like).mT


def soft_assignments(scores: torch.Tensor) -> torch.Tensor:
    """(B, r, m) network scores plus the block prior → column-stochastic weights over the r
    components. The scores act as a learned residual on the prior: at 0, the prior alone."""
    rank, m = scores.shape[-2:]
    logits = scores + PRIOR * block_prior(rank, m, scores)
    return torch.softmax(logits, dim=-2).clamp_min(1e-12)


def lloyd_step(V: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """One soft Lloyd step: centroids from the weights (B, r, m), then weights from the
    squared distances of V's columns to them (computed as (r, m) for contiguous products)."""
    C = cluster_means(V, weights).mT  # (B, r, n)
    d2 = ((V * V).sum(-2)[..., None, :] - 2 * C @ V + (C * C).sum(-1)[..., None]).clamp_min(0)
    scale = TEMPERATURE * d2.min(-2, keepdim=True).values.mean(-1, keepdim=True)
    # Clamped: far-off columns would get subnormal weights, which slow a CPU matmul 20x.
    return torch.softmax(-d2 / scale.clamp_min(EPS), dim=-2).clamp_min(1e-12)


def cluster_means(V: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """W (B, n, r): column k is the mean of V's columns weighted by row k of weights (B, r, m)."""
    return (V @ weights.mT) / weights.sum(-1)[..., None, :].clamp_min(EPS)


def starting_factors(
    V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, start: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """The factors of one side for ``start`` (see the module docstring)."""
    if start not in STARTS:
        raise ValueError(f"start must be one of {list(STARTS)}, got {start!r}")
    if start == "clustered":
        H = soft_assignments(H)
        for _ in range(LLOYD_STEPS):
            H = lloyd_step(V, H)
        H = H + FLOOR
        W = cluster_means(V, H)
    else:
        W, H = floored(W, H)
    return (W, H) if start == "net" else (W, fit_h(V, W, H))


def relative_error(V: torch.Tensor, W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """‖V − WH‖ / ‖V‖ per plane, (B,)."""
    return torch.linalg.matrix_norm(V - W @ H) / torch.linalg.matrix_norm(V).clamp_min(EPS)


def refined(
    V: torch.Tensor, W: torch.Tensor, H: torch.Tensor, start: str, steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Starting factors (for the symmetric starts, the better side per plane), then
    ``steps`` MU steps."""
    W1, H1 = starting_factors(V, W, H, start)
    if start != "net":
        Ht, Wt = starting_factors(V.mT, H.mT, W.mT, start)
        first = (relative_error(V, W1, H1) <= relative_error(V, Wt.mT, Ht.mT))[..., None, None]
        W1, H1 = torch.where(first, W1, Wt.mT), torch.where(first, H1, Ht.mT)
    return mu_steps(V, W1, H1, steps)
