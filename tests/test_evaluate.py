"""nmfz bench-init: traces checked against the codec's own solver and metrics, the analysis on
hand-made curves, and the command end to end on tiny images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data as skdata
from skimage.metrics import structural_similarity
from skimage.transform import resize

from codec import registry
from codec.color import rgb_to_ycbcr, ycbcr_to_rgb
from codec.evaluate import (
    Reconstruction,
    Trace,
    bench_init_command,
    better_shares,
    first_reaching,
    iterations_near_best,
    random_reaches_start,
    run_init,
    ssim_schedule,
)
from codec.nmf import factorize, initialize


def coffee(shape: tuple[int, int] = (40, 56)) -> np.ndarray:
    small = resize(skdata.coffee(), shape, anti_aliasing=True, preserve_range=True)
    return np.rint(small).astype(np.uint8)


def trace(init: str, mse: list[float], ssim: list[float] | None = None) -> Trace:
    values = np.array(mse, np.float64)
    ssims = np.full(len(values), np.nan) if ssim is None else np.array(ssim)
    return Trace(init, 0.0, values, ssims, np.zeros((len(values), 2)))


def test_ssim_schedule():
    assert ssim_schedule(150, 12).tolist() == [0, 1, 2, 3, 4, 7, 12, 20, 33, 55, 91, 150]
    assert ssim_schedule(5, 17).tolist() == [0, 1, 2, 3, 4, 5]
    assert ssim_schedule(1, 2).tolist() == [0, 1]


def test_better_shares_and_tolerance():
    ours = np.array([1.0, 2.0, 3.0, 4.0])
    theirs = np.array([2.0, 2.0, 3.0 * (1 - 0.5e-5), 3.0])
    assert better_shares(ours, theirs, higher=False) == (0.25, 0.75)  # within 0.001 %: 3.0
    assert better_shares(ours, theirs, higher=True) == (0.5, 0.75)  # within 0.001 %: 2.0


def test_first_reaching_skips_unevaluated():
    curve = np.array([0.1, np.nan, np.nan, 0.8, 0.9])
    assert first_reaching(curve, 0.5, higher=True) == 3
    assert first_reaching(curve, 0.95, higher=True) is None
    assert first_reaching(np.array([5.0, 3.0, 1.0]), 3.0, higher=False) == 1


def test_reach_and_near_best_on_hand_made_traces():
    runs = {
        "random": [trace("random", [100, 50, 20, 10, 9.0])],
        "good": [trace("good", [30, 12, 10, 9.5, 9.05])],
    }
    assert random_reaches_start(runs, "mse") == {"good": [2]}  # 20 ≤ 30 first at iteration 2
    # best final 9.0; within 1 %: ≤ 9.09 — random at 4, good at 4 (9.05)
    assert iterations_near_best(runs) == {"random": [4], "good": [4]}


def test_reconstruction_matches_the_decoder_path():
    rgb = coffee()
    image = Reconstruction(rgb)
    W, H = initialize(image.V, 3, "kmeans")
    WH = W @ H
    got = image.rgb(WH).permute(1, 2, 0).numpy()
    want = ycbcr_to_rgb(rgb_to_ycbcr(rgb)[0], WH[0].numpy() * 255, WH[1].numpy() * 255)
    assert np.mean(got != want) < 1e-3  # rounding ties only
    mse = np.mean((want.astype(np.float64) - rgb) ** 2)
    assert image.mse(image.rgb(WH)) == pytest.approx(mse, rel=1e-3)


def test_run_init_is_sed_mu_and_measures_ssim_on_the_schedule():
    rgb = coffee()
    image = Reconstruction(rgb)
    schedule = ssim_schedule(12, 4)
    result, start = run_init(
        image, "nndsvdar", rank=4, iterations=12, schedule=schedule, algorithm="mu", seed=3
    )
    W0, H0 = initialize(image.V, 4, "nndsvdar", seed=3)
    reference = factorize(image.V, 4, init=(W0, H0), iterations=12)
    np.testing.assert_allclose(result.error, reference.errors, rtol=1e-4, atol=1e-6)
    start_rgb = ycbcr_to_rgb(rgb_to_ycbcr(rgb)[0], *(W0 @ H0).numpy() * 255)
    assert np.mean(start != start_rgb) < 1e-3
    evaluated = np.flatnonzero(~np.isnan(result.ssim))
    assert evaluated.tolist() == schedule.tolist()
    assert result.ssim[0] == pytest.approx(
        structural_similarity(rgb, start, channel_axis=2, data_range=255), rel=1e-9
    )
    assert result.mse[-1] < result.mse[0] and result.init_s > 0
    final = ycbcr_to_rgb(rgb_to_ycbcr(rgb)[0], *(reference.W @ reference.H).numpy() * 255)
    assert result.mse[-1] == pytest.approx(np.mean((final.astype(float) - rgb) ** 2), rel=1e-3)


def test_command_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    source = tmp_path / "in"
    source.mkdir()
    Image.fromarray(coffee()).save(source / "coffee.png")
    Image.fromarray(coffee((48, 40))[::-1]).save(source / "flipped.png")
    Image.fromarray(coffee()[..., 0]).save(source / "gray.png")
    inits = ["random", "kmeans", "nndsvd"]
    monkeypatch.setattr(
        registry,
        "INITIALIZERS",
        {
            **{i: registry.INITIALIZERS[i] for i in inits},
            "broken": registry.Initializer(
                "broken", 250, "codec.no_such_module:init", "for a test"
            ),
        },
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        bench_init_command,
        [
            str(source),
            "-o",
            str(out),
            "--rank",
            "3",
            "--iterations",
            "8",
            "--ssim-points",
            "4",
            "--versus",
            "kmeans",
        ],
    )
    assert result.exit_code == 1, result.output  # gray.png has no chroma
    assert "gray.png" in result.stderr and "no colour" in result.stderr
    text = (out / "results.md").read_text()
    assert "init broken: ModuleNotFoundError" in text  # skipped, listed with the reason
    assert "| kmeans vs" in text and "--iterations 8" in text
    assert "iterations 0, 1, 3, 8" in text
    for name in ("convergence.png", "convergence_zoom.png", "initial_factors.png"):
        assert (out / name).stat().st_size > 1000
    with (out / "iterations.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 3 * 9  # images × inits × (iterations + 1)
    assert sum(r["ssim"] != "" for r in rows) == 2 * 3 * 4
    with (out / "pairwise.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 3 * 2


def test_explicitly_asked_init_that_fails_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    Image.fromarray(coffee()).save(tmp_path / "coffee.png")
    broken = registry.Initializer("svd", 7, "codec.no_such_module:init", "for a test")
    monkeypatch.setitem(registry.INITIALIZERS, "svd", broken)
    result = CliRunner().invoke(
        bench_init_command,
        [
            str(tmp_path / "coffee.png"),
            "-o",
            str(tmp_path / "out"),
            "--init",
            "svd",
            "--init",
            "kmeans",
            "--versus",
            "kmeans",
        ],
    )
    assert result.exit_code == 1
    assert "init svd: ModuleNotFoundError" in result.stderr
    assert not (tmp_path / "out").exists()
