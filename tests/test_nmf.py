"""The solvers against references (scikit-learn, nimfa, closed form) and their invariants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import NMF

from codec import nmf
from codec.registry import INITIALIZERS

np.mat = np.asmatrix  # nimfa 1.4 still calls np.mat, which NumPy 2 removed
import nimfa  # noqa: E402


def _start(shape: tuple[int, int], rank: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((shape[0], rank)) + 0.1, rng.random((rank, shape[1])) + 0.1


def _kl(V: np.ndarray, WH: np.ndarray) -> float:
    return float(np.sum(V * np.log(V / WH) - V + WH))


def test_mu_follows_sklearn_trajectory(low_rank):
    W0, H0 = _start(low_rank.shape, 5)
    for iterations in (1, 10, 60):
        reference = NMF(5, init="custom", solver="mu", max_iter=iterations, tol=0)
        W_ref = reference.fit_transform(low_rank, W=W0.copy(), H=H0.copy())
        ours = nmf.factorize(low_rank, 5, init=(W0, H0), iterations=iterations)
        np.testing.assert_allclose(ours.W.numpy(), W_ref, rtol=1e-4, atol=1e-10)
        np.testing.assert_allclose(ours.H.numpy(), reference.components_, rtol=1e-4, atol=1e-10)


@pytest.mark.parametrize(
    ("algorithm", "update", "objective"),
    [("mu", "euclidean", "fro"), ("mu-kl", "divergence", "div")],
)
def test_mu_matches_nimfa(low_rank, algorithm, update, objective):
    W0, H0 = _start(low_rank.shape, 4, seed=3)
    # nimfa updates H before W; on the transposed problem its order is ours (W, then H).
    model = nimfa.Nmf(
        low_rank.T,
        W=H0.T.copy(),
        H=W0.T.copy(),
        rank=4,
        max_iter=25,
        update=update,
        objective=objective,
        min_residuals=0,
    )
    fit = model()
    ours = nmf.factorize(low_rank, 4, init=(W0, H0), iterations=25, algorithm=algorithm)
    np.testing.assert_allclose(ours.W.numpy(), np.asarray(fit.coef()).T, rtol=1e-4)
    np.testing.assert_allclose(ours.H.numpy(), np.asarray(fit.basis()).T, rtol=1e-4)


@pytest.mark.parametrize("algorithm", ["mu", "mu-kl", "hals"])
def test_objective_never_increases(low_rank, algorithm):
    W, H = _start(low_rank.shape, 6, seed=1)
    objective = (
        (lambda W, H: _kl(low_rank, W @ H))
        if algorithm == "mu-kl"
        else (lambda W, H: float(np.sum((low_rank - W @ H) ** 2)))
    )
    values = [objective(W, H)]
    for _ in range(40):
        step = nmf.factorize(low_rank, 6, init=(W, H), iterations=1, algorithm=algorithm)
        W, H = step.W.numpy(), step.H.numpy()
        values.append(objective(W, H))
    assert np.all(np.diff(values) <= 1e-12 * values[0])
    assert values[-1] < 0.5 * values[0]


@pytest.mark.parametrize("algorithm", ["mu", "hals"])
def test_reported_errors_are_the_true_errors(low_rank, algorithm):
    V = low_rank.astype(np.float32)
    result = nmf.factorize(V, 4, init="nndsvdar", iterations=30, algorithm=algorithm)
    direct = np.linalg.norm(V - result.W.numpy() @ result.H.numpy()) / np.linalg.norm(V)
    assert result.errors.shape == (31,)
    assert result.errors[-1] == pytest.approx(direct, rel=1e-3)
    assert np.all(np.diff(result.errors) <= 1e-6)


@pytest.mark.parametrize("init", ["random", "nndsvd", "kmeans"])
def test_hals_recovers_a_separable_factorization(init):
    # With identity blocks in W and H the NMF of W·H is unique up to scaling.
    rng = np.random.default_rng(0)
    W = np.vstack([np.eye(3), rng.random((27, 3))])
    H = np.hstack([np.eye(3), rng.random((3, 22))])
    result = nmf.factorize(W @ H, 3, init=init, iterations=500, algorithm="hals")
    assert result.errors[-1] < 1e-6


@pytest.mark.parametrize("algorithm", ["mu", "mu-kl", "hals"])
@pytest.mark.parametrize("init", sorted(INITIALIZERS))
def test_factors_stay_nonnegative_and_finite(low_rank, init, algorithm):
    result = nmf.factorize(low_rank, 5, init=init, iterations=15, algorithm=algorithm)
    for factor in (result.W, result.H):
        assert torch.isfinite(factor).all() and (factor >= 0).all()
    assert result.errors[-1] <= result.errors[0] + 1e-6


def test_float32_and_float64_agree(low_rank):
    single = nmf.factorize(low_rank.astype(np.float32), 4, init="kmeans", iterations=50)
    double = nmf.factorize(low_rank, 4, init="kmeans", iterations=50)
    assert single.W.dtype == torch.float32 and double.W.dtype == torch.float64
    np.testing.assert_allclose(single.errors, double.errors, rtol=1e-3)
    WH32 = (single.W @ single.H).double().numpy()
    np.testing.assert_allclose(WH32, (double.W @ double.H).numpy(), rtol=1e-3, atol=1e-5)


def test_batch_equals_separate_planes(low_rank):
    other = low_rank[::-1].copy() * 2
    both = nmf.factorize(np.stack([low_rank, other]), 4, init="nndsvd", iterations=20)
    for index, V in enumerate([low_rank, other]):
        alone = nmf.factorize(V, 4, init="nndsvd", iterations=20)
        np.testing.assert_allclose(both.W[index].numpy(), alone.W.numpy(), rtol=1e-6)
        np.testing.assert_allclose(both.errors[:, index], alone.errors, rtol=1e-6)


def test_same_seed_same_result_and_seed_matters(low_rank):
    first = nmf.factorize(low_rank, 4, init="random", iterations=5, seed=11)
    again = nmf.factorize(low_rank, 4, init="random", iterations=5, seed=11)
    other = nmf.factorize(low_rank, 4, init="random", iterations=5, seed=12)
    assert torch.equal(first.W, again.W) and torch.equal(first.H, again.H)
    assert not torch.equal(first.W, other.W)


def test_tol_stops_early(low_rank):
    result = nmf.factorize(low_rank, 4, init="nndsvda", iterations=5000, tol=1e-4)
    assert 1 < result.iterations < 5000
    last = result.errors
    assert last[-2] - last[-1] < 1e-4 * last[-2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rank": 0}, r"rank must be in \[1, min\(n, m\)\] = \[1, 30\], got 0"),
        ({"rank": 31}, r"rank must be in .* got 31"),
        ({"rank": 3, "algorithm": "als"}, r"algorithm must be one of \['hals', 'mu', 'mu-kl'\]"),
        ({"rank": 3, "init": "magic"}, r"init must be one of \[.*'kmeans'.*\], got 'magic'"),
        ({"rank": 3, "iterations": -1}, r"iterations and tol must be >= 0"),
    ],
)
def test_bad_arguments_are_named(low_rank, kwargs, message):
    with pytest.raises(ValueError, match=message):
        nmf.factorize(low_rank, **kwargs)


@pytest.mark.parametrize("V", [np.array([[1.0, -1.0]]), np.array([[np.nan]]), np.zeros((0, 3))])
def test_bad_matrices_are_refused(V):
    with pytest.raises(ValueError, match="V must be"):
        nmf.factorize(V, 1)


def test_initial_factors_must_fit(low_rank):
    W0, H0 = _start(low_rank.shape, 3)
    with pytest.raises(ValueError, match="do not fit"):
        nmf.factorize(low_rank, 4, init=(W0, H0))


def test_zero_matrix_gives_zero_error_not_nan():
    result = nmf.factorize(np.zeros((5, 4)), 2, init="random", iterations=3)
    assert np.all(np.isfinite(result.errors))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("algorithm", ["mu", "mu-kl", "hals"])
def test_cuda_matches_cpu(low_rank, algorithm):
    V = low_rank.astype(np.float32)
    cpu = nmf.factorize(V, 4, init="nndsvd", iterations=30, algorithm=algorithm, device="cpu")
    gpu = nmf.factorize(V, 4, init="nndsvd", iterations=30, algorithm=algorithm, device="cuda")
    assert gpu.W.device.type == "cuda"
    np.testing.assert_allclose(gpu.errors, cpu.errors, rtol=1e-3)


def test_auto_device_resolves_to_an_available_device():
    device = nmf.resolve_device("auto")
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_progress_is_reported_each_iteration(low_rank):
    calls: list[tuple[int, int]] = []
    nmf.factorize(low_rank, 3, init="random", iterations=4, progress=lambda *a: calls.append(a))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
