"""Initializers: against scikit-learn where it has them, and their defining properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition._nmf import _initialize_nmf

from codec import inits, nmf, registry


@pytest.fixture
def spectral() -> np.ndarray:
    """A 60 × 50 matrix with a clear spectral gap after 5 components (randomized SVD ≈ SVD)."""
    rng = np.random.default_rng(3)
    return rng.random((60, 5)) @ rng.random((5, 50)) * 10 + 1e-3 * rng.random((60, 50))


@pytest.mark.parametrize("method", ["nndsvd", "nndsvda", "nndsvdar"])
def test_nndsvd_family_matches_sklearn(spectral, method):
    W_ref, H_ref = _initialize_nmf(spectral, 5, init=method, random_state=0)
    W, H = nmf.initialize(spectral, 5, method)
    if method == "nndsvdar":  # the random fill differs; compare where NNDSVD is not zero
        exact_w, exact_h = _initialize_nmf(spectral, 5, init="nndsvd")
        keep_w, keep_h = exact_w > 0, exact_h > 0
        np.testing.assert_allclose(W.numpy()[keep_w], W_ref[keep_w], rtol=1e-5)
        np.testing.assert_allclose(H.numpy()[keep_h], H_ref[keep_h], rtol=1e-5)
        return
    np.testing.assert_allclose(W.numpy(), W_ref, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(H.numpy(), H_ref, rtol=1e-5, atol=1e-8)


def test_random_has_sklearn_scale(spectral):
    W, H = nmf.initialize(spectral, 5, "random", seed=0)
    expected = np.sqrt(spectral.mean() / 5) * np.sqrt(2 / np.pi)  # mean of |N(0, σ²)|
    assert W.mean().item() == pytest.approx(expected, rel=0.1)
    assert H.mean().item() == pytest.approx(expected, rel=0.1)


def test_kmeans_finds_separated_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.concatenate([c + 0.1 * rng.standard_normal((40, 2)) for c in centres])
    found = inits.kmeans_centroids(torch.tensor(points)[None], 3, torch.Generator().manual_seed(1))
    distances = np.linalg.norm(centres[:, None] - found[0].numpy()[None], axis=-1)
    assert distances.min(1).max() < 0.05


def test_kmeans_init_is_exact_on_repeated_columns():
    rng = np.random.default_rng(2)
    columns = rng.random((20, 4))
    V = columns[:, rng.integers(0, 4, 60)]  # every column is one of four
    W, H = nmf.initialize(V, 4, "kmeans")
    assert np.linalg.norm(V - (W @ H).numpy()) / np.linalg.norm(V) < 1e-6


def test_kmeans_rows_is_kmeans_of_the_transpose():
    V = np.random.default_rng(6).random((12, 30))
    W, H = nmf.initialize(V, 3, "kmeans-rows", seed=2)
    Ht, Wt = nmf.initialize(V.T, 3, "kmeans", seed=2)
    np.testing.assert_allclose(W.numpy(), Wt.numpy().T)
    np.testing.assert_allclose(H.numpy(), Ht.numpy().T)


def test_nnls_matches_scipy():
    from scipy.optimize import nnls

    rng = np.random.default_rng(5)
    W, V = rng.random((30, 6)), rng.random((30, 12))
    H = inits.nnls(torch.tensor(V)[None], torch.tensor(W)[None])[0].numpy()
    expected = np.stack([nnls(W, V[:, j])[0] for j in range(12)], 1)
    np.testing.assert_allclose(H, expected, atol=1e-8)


def test_svd_init_is_exact_for_a_rank_one_matrix():
    rng = np.random.default_rng(4)
    V = np.outer(rng.random(15) + 0.1, rng.random(9) + 0.1)
    W, H = nmf.initialize(V, 1, "svd")
    np.testing.assert_allclose((W @ H).numpy(), V, rtol=1e-8)


def test_random_vcol_factors_are_means_of_columns_and_rows(spectral):
    W, H = (f.numpy() for f in nmf.initialize(spectral, 5, "random-vcol"))
    # a mean of columns lies, row by row, between the row's extremes; W is one scalar a times
    # such means, so some a must fit every entry: max W/row-max ≤ a ≤ min W/row-min
    lo, hi = spectral.min(1)[:, None], spectral.max(1)[:, None]
    assert (W / hi).max() <= (W / lo).min() * (1 + 1e-9)
    # H is unscaled means of rows: column by column between the column's extremes
    assert np.all(spectral.min(0) - 1e-12 <= H) and np.all(spectral.max(0) + 1e-12 >= H)
    assert np.linalg.matrix_rank(W) == 5


@pytest.mark.parametrize("method", sorted(registry.INITIALIZERS))
@pytest.mark.parametrize(("shape", "rank"), [((1, 1), 1), ((1, 9), 1), ((9, 1), 1), ((7, 5), 5)])
def test_every_init_handles_odd_shapes(method, shape, rank):
    V = np.random.default_rng(0).random(shape) + 0.5
    W, H = nmf.initialize(V, rank, method)
    assert W.shape == (shape[0], rank) and H.shape == (rank, shape[1])
    assert torch.isfinite(W).all() and torch.isfinite(H).all()
    assert (W >= 0).all() and (H >= 0).all()


def test_registry_codes_are_permanent():
    # On-disk ids: changing one breaks every file written before. Extend, never renumber.
    codes = {name: entry.code for name, entry in registry.INITIALIZERS.items()}
    assert {k: v for k, v in codes.items() if k != "nmfnet"} == {
        "random": 1,
        "random-vcol": 2,
        "nndsvd": 3,
        "nndsvda": 4,
        "nndsvdar": 5,
        "kmeans": 6,
        "svd": 7,
        "kmeans-rows": 9,
    }
    assert codes.get("nmfnet", 8) == 8
    assert registry.name_of(250) == "unknown-250"


def test_registering_a_taken_name_or_code_fails():
    with pytest.raises(ValueError, match="registered already"):
        registry.register("kmeans", 99, "codec.inits:kmeans", "dup")
    with pytest.raises(ValueError, match="registered already"):
        registry.register("other", 6, "codec.inits:kmeans", "dup")
