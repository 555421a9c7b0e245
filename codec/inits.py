"""Classical NMF initializers (registered by name in :mod:`codec.registry`).

Each takes a batch V of shape (B, n, m), a rank r ≤ min(n, m) and a seeded CPU generator, and
returns W (B, n, r) and H (B, r, m), non-negative. Random draws are made on the CPU in float64
and then moved to V's device and dtype, so results do not depend on the device.
"""

from __future__ import annotations

import numpy as np
import torch

Tensor = torch.Tensor

_TINY = 1e-6  # NNDSVD treats entries below this as zero (scikit-learn's threshold)


def _uniform_like(shape: tuple[int, ...], generator: torch.Generator, like: Tensor) -> Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64).to(like)


def _normal_like(shape: tuple[int, ...], generator: torch.Generator, like: Tensor) -> Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64).to(like)


def random(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """|N(0, 1)| entries scaled by sqrt(mean(V) / r), as scikit-learn's ``init="random"``."""
    B, n, m = V.shape
    scale = (V.mean((-2, -1)) / rank).sqrt()[:, None, None]
    W = scale * _normal_like((B, n, rank), generator, V).abs()
    H = scale * _normal_like((B, rank, m), generator, V).abs()
    return W, H


def _best_scale(V: Tensor, W: Tensor, H: Tensor) -> Tensor:
    """The scalar a minimizing ‖V − a·WH‖, per plane."""
    WH = W @ H
    return ((V * WH).sum((-2, -1)) / (WH * WH).sum((-2, -1)).clamp_min(1e-30))[:, None, None]


def random_vcol(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random Vcol (Langville et al. 2006): each column of W is the mean of p = ⌈m/5⌉ random
    columns of V; each row of H, symmetrically, the mean of ⌈n/5⌉ random rows; then one scalar
    rescale of W to the least-squares optimum."""
    B, n, m = V.shape
    pick_cols = _uniform_like((B, rank, m), generator, V).argsort(-1)[..., : -(-m // 5)]
    pick_rows = _uniform_like((B, rank, n), generator, V).argsort(-1)[..., : -(-n // 5)]
    batch = torch.arange(B, device=V.device)[:, None, None]
    W = V.mT[batch, pick_cols].mean(-2).mT  # (B, n, r)
    H = V[batch, pick_rows].mean(-2)  # (B, r, m)
    return W * _best_scale(V, W, H), H


def _truncated_svd(V: Tensor, rank: int, generator: torch.Generator):
    """Top-r SVD: randomized (Halko et al. 2011, 10 oversamples, 7 power iterations, as
    scikit-learn's ``randomized_svd``) when r is small against min(n, m), else exact."""
    B, n, m = V.shape
    sketch = rank + 10
    if sketch >= min(n, m) // 2:
        U, S, Vt = torch.linalg.svd(V, full_matrices=False)
        return U[..., :rank], S[..., :rank], Vt[..., :rank, :]
    Q = V @ _normal_like((B, m, sketch), generator, V)
    for _ in range(7):
        Q = torch.linalg.qr(V @ torch.linalg.qr(V.mT @ torch.linalg.qr(Q).Q).Q).Q
    U, S, Vt = torch.linalg.svd(Q.mT @ V, full_matrices=False)
    return (Q @ U)[..., :rank], S[..., :rank], Vt[..., :rank, :]


def nndsvd(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """NNDSVD (Boutsidis & Gallopoulos 2008): each singular pair split into its positive and
    negative parts, keeping the part with the larger norm product. Its zeros stay exact (and
    so never move under multiplicative updates)."""
    U, S, Vt = _truncated_svd(V, rank, generator)
    W = torch.empty_like(U)
    H = torch.empty_like(Vt)
    W[..., 0] = S[..., 0, None].sqrt() * U[..., 0].abs()
    H[..., 0, :] = S[..., 0, None].sqrt() * Vt[..., 0, :].abs()
    for j in range(1, rank):
        x, y = U[..., j], Vt[..., j, :]
        xp, xn, yp, yn = x.clamp_min(0), (-x).clamp_min(0), y.clamp_min(0), (-y).clamp_min(0)
        xpn, xnn = xp.norm(dim=-1), xn.norm(dim=-1)
        ypn, ynn = yp.norm(dim=-1), yn.norm(dim=-1)
        positive = (xpn * ypn >= xnn * ynn)[:, None]
        u = torch.where(
            positive, xp / xpn[:, None].clamp_min(1e-30), xn / xnn[:, None].clamp_min(1e-30)
        )
        v = torch.where(
            positive, yp / ypn[:, None].clamp_min(1e-30), yn / ynn[:, None].clamp_min(1e-30)
        )
        sigma = torch.where(positive[:, 0], xpn * ypn, xnn * ynn)
        lam = (S[..., j] * sigma).sqrt()[:, None]
        W[..., j] = lam * u
        H[..., j, :] = lam * v
    W = torch.where(W < _TINY, 0, W)
    H = torch.where(H < _TINY, 0, H)
    return W, H


def nndsvda(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """NNDSVD with zeros filled by the mean of V."""
    W, H = nndsvd(V, rank, generator)
    mean = V.mean((-2, -1))[:, None, None]
    return torch.where(W == 0, mean, W), torch.where(H == 0, mean, H)


def nndsvdar(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """NNDSVD with zeros filled by small random values, |N(0, 1)| · mean(V) / 100."""
    W, H = nndsvd(V, rank, generator)
    mean = V.mean((-2, -1))[:, None, None]
    fill_w = mean * _normal_like(W.shape, generator, V).abs() / 100
    fill_h = mean * _normal_like(H.shape, generator, V).abs() / 100
    return torch.where(W == 0, fill_w, W), torch.where(H == 0, fill_h, H)


def svd(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Truncated SVD split as W = U√S, H = √S Vᵀ, each pair's sign chosen so that most of its
    mass is positive, then negatives set to zero."""
    U, S, Vt = _truncated_svd(V, rank, generator)
    sign = torch.where(U.sum(-2) >= 0, 1.0, -1.0).to(V)  # (B, r)
    root = S.sqrt() * sign
    return (U * root[:, None, :]).clamp_min(0), (Vt * root[:, :, None]).clamp_min(0)


def nnls(V: Tensor, W: Tensor) -> Tensor:
    """H ≥ 0 minimizing ‖V − WH‖ for fixed W (B, n, r): exact, column by column.

    With WᵀW = LLᵀ, ‖v − Wh‖² = ‖Lᵀh − L⁻¹Wᵀv‖² + const, so each column is an r × r
    Lawson–Hanson problem (scipy) instead of an n × r one. A tiny ridge keeps L defined
    when W has repeated columns.
    """
    from scipy.linalg import solve_triangular
    from scipy.optimize import nnls as lawson_hanson

    W64, V64 = W.double().cpu().numpy(), V.double().cpu().numpy()
    H = np.zeros((W64.shape[0], W64.shape[2], V64.shape[2]))
    for b, (Wb, Vb) in enumerate(zip(W64, V64, strict=True)):
        gram = Wb.T @ Wb
        ridge = 1e-12 * max(float(np.trace(gram)), 1e-300) * np.eye(len(gram))
        L = np.linalg.cholesky(gram + ridge)
        C = solve_triangular(L, Wb.T @ Vb, lower=True)
        for j in range(C.shape[1]):
            H[b, :, j] = lawson_hanson(L.T, C[:, j])[0]
    return torch.from_numpy(H).to(V)


def _sq_distances(points: Tensor, centres: Tensor) -> Tensor:
    """‖p − c‖² for all pairs, (B, p, d) × (B, k, d) → (B, p, k), through one matmul.

    (torch.cdist takes a slow elementwise path for fewer than 25 centres.)
    """
    cross = points @ centres.mT
    return (
        (points * points).sum(-1)[..., None] - 2 * cross + (centres * centres).sum(-1)[:, None]
    ).clamp_min(0)


def kmeans_centroids(points: Tensor, k: int, generator: torch.Generator, steps: int = 50) -> Tensor:
    """Lloyd's k-means with k-means++ seeding on a batch of point sets (B, p, d) → (B, k, d).

    An emptied cluster is moved to the point farthest from its centroid.
    """
    B, p, _ = points.shape
    batch = torch.arange(B, device=points.device)
    first = (_uniform_like((B,), generator, points) * p).long().clamp_max(p - 1)
    C = points[batch, first][:, None]
    dist = _sq_distances(points, C)[..., 0]
    for _ in range(1, k):
        weights = dist / dist.sum(-1, keepdim=True).clamp_min(1e-30)
        u = _uniform_like((B, 1), generator, points)
        pick = torch.searchsorted(weights.cumsum(-1), u)[:, 0].clamp_max(p - 1)
        C = torch.cat([C, points[batch, pick][:, None]], 1)
        dist = torch.minimum(dist, _sq_distances(points, C[:, -1:])[..., 0])
    labels = None
    for _ in range(steps):
        d2 = _sq_distances(points, C)
        new_labels = d2.argmin(-1)
        if labels is not None and torch.equal(new_labels, labels):
            break
        labels = new_labels
        onehot = torch.nn.functional.one_hot(labels, k).to(points)  # (B, p, k)
        counts = onehot.sum(1)  # (B, k)
        C = torch.where(
            counts[..., None] > 0, (onehot.mT @ points) / counts.clamp_min(1)[..., None], C
        )
        for b, j in (counts == 0).nonzero().tolist():
            C[b, j] = points[b, d2[b].min(-1).values.argmax()]
    return C


def kmeans(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """K-means of V's columns (the thesis's rule): the r centroids are the columns of W,
    H is the exact NNLS fit."""
    W = kmeans_centroids(V.mT, rank, generator).mT
    return W, nnls(V, W)


def kmeans_rows(V: Tensor, rank: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """K-means of V's rows: the r centroids are the rows of H, W is the exact NNLS fit.

    For image planes this is the better orientation: on the train/ images (r = 20, MU 150)
    it ends 0.47 dB RGB PSNR above column clustering.
    """
    H, W = kmeans(V.mT, rank, generator)
    return W.mT, H.mT
