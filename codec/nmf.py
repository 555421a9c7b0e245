"""Non-negative matrix factorization V ≈ W·H in torch, on any device.

Orientation: V is (n, m), W is (n, r), H is (r, m); a leading batch dimension (B, n, m)
factors B planes of one shape at once. Every solver alternates a W update and an H update
(W first, as scikit-learn's MU does), in the dtype of V (float32 unless V is float64).

References: Lee & Seung, "Algorithms for non-negative matrix factorization", NIPS 2000 (MU);
Cichocki & Phan, "Fast local algorithms for large scale NMF", IEICE 2009 (HALS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from codec import registry

EPS = torch.finfo(torch.float32).eps
"""Guard for denominators, as scikit-learn's ``EPS``: far below any chroma value."""

Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], tuple]


@dataclass(frozen=True)
class Factorization:
    """Result of :func:`factorize`.

    Shape:
        W: (n, r) or (B, n, r);  H: (r, m) or (B, r, m);
        errors: (T + 1,) or (T + 1, B), the relative Frobenius error ‖V − WH‖ / ‖V‖;
        ``errors[0]`` is at the initialization, ``errors[i]`` after iteration i.
    """

    W: torch.Tensor
    H: torch.Tensor
    errors: np.ndarray

    @property
    def iterations(self) -> int:
        return len(self.errors) - 1


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` means CUDA when available, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but CUDA is not available")
    return resolved


def as_batch(V: np.ndarray | torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """V as a (B, n, m) floating tensor on ``device`` (float64 kept, anything else float32)."""
    tensor = torch.as_tensor(V)
    if tensor.dtype != torch.float64:
        tensor = tensor.to(torch.float32)
    tensor = tensor.to(resolve_device(device))
    if tensor.ndim == 2:
        tensor = tensor[None]
    if tensor.ndim != 3 or 0 in tensor.shape:
        raise ValueError(
            f"V must be a non-empty 2-D matrix or 3-D batch, got shape {tuple(V.shape)}"
        )
    if not torch.isfinite(tensor).all() or (tensor < 0).any():
        raise ValueError("V must be finite and non-negative")
    return tensor


def _check_rank(V: torch.Tensor, rank: int) -> None:
    n, m = V.shape[-2:]
    if not 1 <= rank <= min(n, m):
        raise ValueError(f"rank must be in [1, min(n, m)] = [1, {min(n, m)}], got {rank}")


def _run_init(method: str, V: torch.Tensor, rank: int, seed: int):
    fn = registry.get(method).load()
    W, H = fn(V, rank, torch.Generator().manual_seed(seed))
    return W.to(V), H.to(V)


def initialize(
    V: np.ndarray | torch.Tensor, rank: int, method: str = "kmeans", *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial factors (W, H) of V by a registered method (``codec.registry.INITIALIZERS``)."""
    batch = as_batch(V, V.device if isinstance(V, torch.Tensor) else "cpu")
    _check_rank(batch, rank)
    W, H = _run_init(method, batch, rank, seed)
    return (W, H) if V.ndim == 3 else (W[0], H[0])


def _sed_error2(norm2: torch.Tensor, WtV: torch.Tensor, WtW: torch.Tensor, H: torch.Tensor):
    """‖V − WH‖² = ‖V‖² − 2⟨WᵀV, H⟩ + ⟨WᵀW, HHᵀ⟩, from products the H update already made.

    Reduced in float64: the three terms nearly cancel when the fit is good.
    """
    H64 = H.double()
    cross = (WtV.double() * H64).sum((-2, -1))
    gram = (WtW.double() * (H64 @ H64.mT)).sum((-2, -1))
    return norm2 - 2 * cross + gram


def _mu_step(V, W, H, norm2):
    """Lee–Seung MU for ½‖V − WH‖²: W ← W ⊙ VHᵀ ⊘ WHHᵀ, then H ← H ⊙ WᵀV ⊘ WᵀWH."""
    W = W * (V @ H.mT) / (W @ (H @ H.mT)).clamp_min(EPS)
    WtV, WtW = W.mT @ V, W.mT @ W
    H = H * WtV / (WtW @ H).clamp_min(EPS)
    return W, H, _sed_error2(norm2, WtV, WtW, H)


def _kl_step(V, W, H, norm2):
    """Lee–Seung MU for the generalized KL divergence D(V ‖ WH)."""
    W = W * ((V / (W @ H).clamp_min(EPS)) @ H.mT) / H.sum(-1)[..., None, :].clamp_min(EPS)
    H = H * (W.mT @ (V / (W @ H).clamp_min(EPS))) / W.sum(-2)[..., :, None].clamp_min(EPS)
    return W, H, ((V - W @ H) ** 2).sum((-2, -1)).double()


def _hals_columns(W: torch.Tensor, VHt: torch.Tensor, HHt: torch.Tensor) -> torch.Tensor:
    """One HALS sweep over the columns of W for min ‖V − WH‖² with H fixed.

    Columns are floored at EPS rather than 0 so that none dies for good (Cichocki & Phan).
    """
    W = W.clone()
    for k in range(W.shape[-1]):
        residual = VHt[..., :, k] - (W @ HHt[..., :, k, None])[..., 0]
        W[..., :, k] = (W[..., :, k] + residual / HHt[..., k, k, None].clamp_min(EPS)).clamp_min(
            EPS
        )
    return W


def _hals_step(V, W, H, norm2):
    """Hierarchical alternating least squares: exact minimization over one column at a time."""
    W = _hals_columns(W, V @ H.mT, H @ H.mT)
    WtV, WtW = W.mT @ V, W.mT @ W
    # The H rule is the W rule on the transposed problem Vᵀ ≈ HᵀWᵀ.
    H = _hals_columns(H.mT, WtV.mT, WtW).mT
    return W, H, _sed_error2(norm2, WtV, WtW, H)


SOLVERS: dict[str, Step] = {"mu": _mu_step, "mu-kl": _kl_step, "hals": _hals_step}
"""Update rules by name; the CLI's ``--algorithm`` choices come from here."""


def factorize(
    V: np.ndarray | torch.Tensor,
    rank: int,
    *,
    init: str | tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor] = "kmeans",
    iterations: int = 150,
    algorithm: str = "mu",
    device: str | torch.device = "cpu",
    seed: int = 0,
    tol: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> Factorization:
    """Factor V ≈ W·H with W, H ≥ 0.

    Parameters
    ----------
    V : (n, m) or (B, n, m) non-negative matrix or batch of matrices.
    rank : r, in [1, min(n, m)].
    init : a registered initializer's name, or the initial factors (W, H) themselves.
    iterations : the most update rounds (one W and one H update each).
    algorithm : ``"mu"`` (squared Euclidean), ``"mu-kl"`` (generalized KL) or ``"hals"``.
    device : ``"cpu"``, ``"cuda"`` or ``"auto"``.
    seed : seeds the initializer; the updates themselves are deterministic.
    tol : stop once an iteration improves the relative error by less than ``tol`` times its
        previous value (for every plane of a batch); 0 runs all iterations.
    progress : called as ``progress(done, total)`` after each iteration.
    """
    if algorithm not in SOLVERS:
        raise ValueError(f"algorithm must be one of {sorted(SOLVERS)}, got {algorithm!r}")
    if iterations < 0 or tol < 0:
        raise ValueError(f"iterations and tol must be >= 0, got {iterations} and {tol}")
    Vb = as_batch(V, device)
    _check_rank(Vb, rank)
    if isinstance(init, str):
        W, H = _run_init(init, Vb, rank, seed)
    else:
        W = torch.as_tensor(init[0]).to(Vb)
        H = torch.as_tensor(init[1]).to(Vb)
        W, H = (W[None], H[None]) if W.ndim == 2 else (W, H)
        if W.shape != (*Vb.shape[:-1], rank) or H.shape != (Vb.shape[0], rank, Vb.shape[-1]):
            raise ValueError(
                f"initial factors of shapes {tuple(W.shape)}, {tuple(H.shape)} do not fit "
                f"V of shape {tuple(Vb.shape)} at rank {rank}"
            )
    step = SOLVERS[algorithm]
    norm2 = (Vb.double() ** 2).sum((-2, -1))
    norm = norm2.sqrt().clamp_min(EPS)
    errors = [torch.linalg.matrix_norm((Vb - W @ H).double()) / norm]
    for _ in range(iterations):
        W, H, err2 = step(Vb, W, H, norm2)
        errors.append(err2.clamp_min(0).sqrt() / norm)
        if progress is not None:
            progress(len(errors) - 1, iterations)
        if tol > 0 and bool(((errors[-2] - errors[-1]) < tol * errors[-2]).all()):
            break
    history = torch.stack(errors).cpu().numpy()
    if V.ndim == 2:
        return Factorization(W[0], H[0], history[:, 0])
    return Factorization(W, H, history)
