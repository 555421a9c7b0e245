"""Differentiable multiplicative updates, shared by the unrolled training loss and inference."""

from __future__ import annotations

import torch

EPS = torch.finfo(torch.float32).eps
FLOOR = 1e-4
"""Predicted factors are floored here: an exact zero could never move under MU."""


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


def projected_h(V: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """The least-squares H for fixed W (ridge 1e-4 of WᵀW's mean diagonal), clamped and
    floored: one (r, n)·(n, m) product, far cheaper than NNLS sweeps."""
    gram = W.mT @ W
    ridge = 1e-4 * gram.diagonal(dim1=-2, dim2=-1).mean(-1)[..., None, None].clamp_min(EPS)
    eye = torch.eye(W.shape[-1], dtype=W.dtype, device=W.device)
    return torch.linalg.solve(gram + ridge * eye, W.mT @ V).clamp_min(0) + FLOOR
