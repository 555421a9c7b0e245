import numpy as np
import pytest
import torch

from nmfnet.stats import (
    FactorStats,
    draw_parameters,
    factor_quadruplets,
    fit_stats,
    synthetic_factors,
    truncated_normal,
)

Z = np.linspace(0, 1, 200)
CURVES = np.stack(
    [
        0.1 + 0.3 * Z**5 - 0.2 * Z**2 + 0.4 * Z,
        0.05 + 0.1 * Z**4 + 0.02 * Z,
        0.3 - 0.1 * Z**3 + 0.05 * Z,
        0.2 + 0.05 * Z**2,
    ],
    1,
)


def _shuffled(data: np.ndarray) -> np.ndarray:
    return data[np.random.default_rng(0).permutation(len(data))]


def test_fit_recovers_known_polynomials():
    stats = fit_stats(_shuffled(CURVES))  # the fit must sort by mean W itself
    for j, model in enumerate(stats.parameters.values()):
        rescaled = np.polyval(model.coefficients, Z) * (model.high - model.low) + model.low
        np.testing.assert_allclose(rescaled, CURVES[:, j], atol=1e-9)
        assert model.sigma < 1e-9
    assert [len(m.coefficients) for m in stats.parameters.values()] == [6, 6, 4, 4]


def test_residual_sigma_measures_the_noise():
    noisy = CURVES.copy()
    noisy[:, 2] += np.random.default_rng(1).normal(0, 0.01, len(Z))
    model = fit_stats(_shuffled(noisy)).parameters["mu_h"]
    assert model.sigma * (model.high - model.low) == pytest.approx(0.01, rel=0.2)


def test_fit_rejects_too_few_samples():
    with pytest.raises(ValueError, match="quadruplets"):
        fit_stats(CURVES[:5])


def test_draws_follow_algorithm_2_and_are_non_negative():
    stats = fit_stats(CURVES)
    drawn = draw_parameters(stats, torch.rand(1000, dtype=torch.float64), torch.Generator())
    assert all((v >= 0).all() for v in drawn.values())
    mu_w = stats.parameters["mu_w"]  # correction 0: exactly on its curve, inside [min, max]
    assert drawn["mu_w"].min() >= mu_w.low - 1e-9 and drawn["mu_w"].max() <= mu_w.high + 1e-9


def test_truncated_normal_has_no_negatives_and_the_right_mean():
    draws = truncated_normal(
        torch.tensor(0.0, dtype=torch.float64),
        torch.tensor(1.0, dtype=torch.float64),
        (200_000,),
        torch.Generator().manual_seed(0),
    )
    assert (draws >= 0).all()
    assert draws.mean().item() == pytest.approx(np.sqrt(2 / np.pi), rel=0.01)  # half-normal


def test_synthetic_factors_multiply_out(tmp_path):
    stats = fit_stats(CURVES)
    stats.save(tmp_path / "stats.json")
    assert FactorStats.load(tmp_path / "stats.json") == stats
    V, W, H = synthetic_factors(stats, 3, 7, 9, torch.Generator().manual_seed(0))
    assert V.shape == (3, 7, 9) and W.shape == (3, 7, 20) and H.shape == (3, 20, 9)
    torch.testing.assert_close(V, W @ H)
    assert (W >= 0).all() and (H >= 0).all()


def test_factor_quadruplets_of_planes():
    planes = torch.rand(3, 12, 15, generator=torch.Generator().manual_seed(0))
    quadruplets = factor_quadruplets(planes, rank=4, iterations=10)
    assert quadruplets.shape == (3, 4) and (quadruplets > 0).all()
