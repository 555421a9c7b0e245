"""nmfz compare: Bjøntegaard deltas on closed-form curves, the subsampling baseline, and the
command end to end on a tiny image."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data as skdata
from skimage.transform import resize

from codec.bdrate import bd_quality, bd_rate
from codec.compare import (
    NumberList,
    compare_command,
    downsample,
    subsample_decode,
    subsample_encode,
    upsample,
)

RATES = np.array([0.5, 1.0, 2.0, 4.0])
PSNRS = np.array([30.0, 34.0, 37.0, 39.0])


def test_bd_rate_of_a_curve_scaled_in_rate_is_the_scale():
    assert bd_rate(RATES, PSNRS, 1.25 * RATES, PSNRS) == pytest.approx(25.0, abs=1e-9)
    assert bd_rate(RATES, PSNRS, 0.8 * RATES, PSNRS) == pytest.approx(-20.0, abs=1e-9)
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-12)


def test_bd_psnr_of_a_curve_shifted_in_quality_is_the_shift():
    assert bd_quality(RATES, PSNRS, RATES, PSNRS + 1.5) == pytest.approx(1.5, abs=1e-9)


def test_bd_rate_exact_for_a_straight_curve_sampled_elsewhere():
    # log R linear in PSNR: PCHIP reproduces lines, so different samples give the exact shift.
    quality_a, quality_b = np.array([30.0, 33, 36, 40]), np.array([31.0, 32, 35, 38, 41])
    rate = lambda q, k: k * np.exp(0.2 * q)  # noqa: E731
    assert bd_rate(rate(quality_a, 1), quality_a, rate(quality_b, 2), quality_b) == pytest.approx(
        100.0, abs=1e-9
    )


def test_bd_without_overlap_is_none():
    assert bd_rate(RATES, PSNRS, RATES, PSNRS + 20) is None
    assert bd_quality(RATES, PSNRS, 100 * RATES, PSNRS) is None
    assert bd_rate([1.0], [30.0], RATES, PSNRS) is None


def test_downsample_is_a_box_mean_with_edges_replicated():
    plane = np.arange(15, dtype=np.float32).reshape(3, 5)
    got = downsample(plane, 2)
    assert got.shape == (2, 3)
    assert got[0, 0] == pytest.approx(np.mean([0, 1, 5, 6]))
    assert got[1, 2] == pytest.approx(14.0)  # the corner pixel replicated into its block
    assert upsample(got, (3, 5), 2).shape == (3, 5)
    flat = np.full((8, 12), 77.25, np.float32)
    np.testing.assert_allclose(upsample(downsample(flat, 4), (8, 12), 4), 77.25, rtol=1e-6)


def test_subsample_baseline_round_trip():
    rgb = np.rint(resize(skdata.astronaut(), (48, 64), preserve_range=True)).astype(np.uint8)
    for factor, floor in ((1, 40.0), (2, 30.0)):
        decoded = subsample_decode(subsample_encode(rgb, factor), factor)
        assert decoded.shape == rgb.shape
        mse = np.mean((decoded.astype(float) - rgb) ** 2)
        assert 10 * np.log10(255**2 / mse) > floor
    flat = np.zeros((16, 16, 3), np.uint8) + np.array([200, 30, 90], np.uint8)
    assert np.abs(subsample_decode(subsample_encode(flat, 4), 4).astype(int) - flat).max() <= 1


def test_number_list():
    assert NumberList(int).convert("5, 10,20", None, None) == (5, 10, 20)
    assert NumberList(float).convert("0.5,1", None, None) == (0.5, 1.0)
    with pytest.raises(Exception, match="comma-separated list of ints"):
        NumberList(int).convert("5,x", None, None)
    with pytest.raises(Exception, match="all positive"):
        NumberList(int).convert("0,5", None, None)


def test_command_end_to_end(tmp_path: Path):
    source = tmp_path / "in"
    source.mkdir()
    rgb = np.rint(resize(skdata.coffee(), (40, 56), preserve_range=True)).astype(np.uint8)
    Image.fromarray(rgb).save(source / "coffee.png")
    Image.fromarray(rgb[..., 0]).save(source / "gray.png")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        compare_command,
        [
            str(source),
            "-o",
            str(out),
            "--ranks",
            "2,4,8",
            "--bits",
            "8",
            "--iterations",
            "5",
            "--jpeg",
            "50,70,90,100",
            "--webp",
            "60,90",
            "--avif",
            "60,90",
            "--jxl",
            "0.5,2",
            "--subsample",
            "2,4,8",
        ],
    )
    assert result.exit_code == 1  # gray.png is listed, not fatal
    assert "gray.png: not an RGB image" in result.stderr
    text = (out / "results.md").read_text()
    assert "| nmfz 8-bit | subsample" in text and "--ranks 2,4,8" in text
    chroma_section = text.split("equal chroma bits")[1]
    assert "| nmfz 8-bit | subsample" in chroma_section and "JPEG" not in chroma_section
    with (out / "points.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    families = {r["family"] for r in rows}
    assert {"nmfz 8-bit", "subsample", "JPEG 4:2:0", "JPEG 4:4:4", "WebP", "PNG"} <= families
    nmfz = next(r for r in rows if r["family"] == "nmfz 8-bit")
    assert 0 < float(nmfz["chroma_bpp"]) < float(nmfz["bpp"])
    assert next(r for r in rows if r["family"] == "JPEG 4:2:0")["chroma_bpp"] == ""
    png = next(r for r in rows if r["family"] == "PNG")
    assert png["psnr"] == "inf" and float(png["ssim"]) == 1.0
    assert (out / "rd_psnr.png").stat().st_size > 1000 and (out / "rd_ssim.png").exists()
