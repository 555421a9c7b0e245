"""nmfz report: numbers checked against an independent computation made here."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from skimage import data as skdata
from skimage.metrics import structural_similarity
from skimage.transform import resize

from codec import decode, encode
from codec.report import Measurement, command_line, report_command, summarize, worst_block

KEYS = {
    "name",
    "width",
    "height",
    "bytes",
    "bpp",
    "psnr_rgb",
    "psnr_y",
    "psnr_cb",
    "psnr_cr",
    "ssim",
    "encode_s",
    "decode_s",
}


def strict_json(text: str) -> dict:
    """Parse JSON, refusing the non-standard Infinity / NaN tokens."""

    def refuse(token: str) -> None:
        raise ValueError(f"invalid JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def numpy_psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def bt601(rgb: np.ndarray) -> np.ndarray:
    """Y', Cb, Cr (JFIF full range, without the offset 128) written out from the standard."""
    r, g, b = (rgb[..., k].astype(np.float64) for k in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return np.stack([y, (b - y) / 1.772, (r - y) / 1.402], -1)


def astronaut(side: int = 64) -> np.ndarray:
    small = resize(skdata.astronaut(), (side, side), anti_aliasing=True, preserve_range=True)
    return np.rint(small).astype(np.uint8)


def run(args: list[str]):
    return CliRunner().invoke(report_command, args, catch_exceptions=False)


def test_known_psnr_and_infinite_psnr_as_null(tmp_path: Path):
    # Gray images keep luma exactly, so the decoded image is `gray` itself; the original on
    # disk differs by +2 at every other pixel: MSE = 2, PSNR = 10 log10(255² / 2).
    gray = np.tile(np.arange(0, 240, 5, dtype=np.uint8), (40, 1))
    off = gray.copy()
    off.reshape(-1)[::2] += 2
    Image.fromarray(off).save(tmp_path / "shifted.png")
    (tmp_path / "shifted.nmfz").write_bytes(encode(gray))
    Image.fromarray(gray).save(tmp_path / "exact.png")
    (tmp_path / "exact.nmfz").write_bytes(encode(gray))
    result = run([str(tmp_path), "--json"])
    assert result.exit_code == 0
    images = {entry["name"]: entry for entry in strict_json(result.output)["images"]}
    assert images["shifted.png"]["psnr_rgb"] == pytest.approx(10 * math.log10(255**2 / 2), abs=1e-9)
    assert images["shifted.png"]["psnr_y"] == pytest.approx(10 * math.log10(255**2 / 2), abs=1e-9)
    assert images["exact.png"]["psnr_rgb"] is None  # infinite: JSON null, never Infinity
    assert images["exact.png"]["ssim"] == pytest.approx(1.0)
    assert images["exact.png"]["psnr_cb"] is None  # gray: no chroma


def test_colour_numbers_match_numpy_and_skimage(tmp_path: Path):
    rgb = astronaut()
    Image.fromarray(rgb).save(tmp_path / "astronaut.png")
    stream = encode(rgb, rank=4, iterations=10)
    (tmp_path / "astronaut.nmfz").write_bytes(stream)
    decoded = decode(stream)
    result = run([str(tmp_path / "astronaut.png"), "--json"])
    assert result.exit_code == 0
    document = strict_json(result.output)
    (entry,) = document["images"]
    assert set(entry) == KEYS
    assert entry["psnr_rgb"] == pytest.approx(numpy_psnr(rgb, decoded), rel=1e-9)
    assert entry["ssim"] == pytest.approx(
        structural_similarity(rgb, decoded, channel_axis=2, data_range=255), rel=1e-9
    )
    a, b = bt601(rgb), bt601(decoded)
    for k, key in enumerate(("psnr_y", "psnr_cb", "psnr_cr")):
        mse = np.mean((a[..., k] - b[..., k]) ** 2)
        assert entry[key] == pytest.approx(10 * math.log10(255**2 / mse), rel=1e-6)
    assert entry["bytes"] == len(stream)
    assert entry["bpp"] == pytest.approx(8 * len(stream) / (64 * 64))
    assert entry["encode_s"] is None and entry["decode_s"] > 0
    assert document["summary"]["psnr_rgb"]["worst"] == "astronaut.png"


def test_failures_are_listed_and_others_reported(tmp_path: Path):
    rgb = astronaut(32)
    Image.fromarray(rgb).save(tmp_path / "good.png")
    (tmp_path / "good.nmfz").write_bytes(encode(rgb, rank=2, iterations=2))
    Image.fromarray(rgb).save(tmp_path / "corrupt.png")
    (tmp_path / "corrupt.nmfz").write_bytes(b"NMFZ but not really")
    Image.fromarray(rgb).save(tmp_path / "orphan.png")
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    (tmp_path / "broken.nmfz").write_bytes(encode(rgb, rank=2, iterations=2))
    Image.fromarray(rgb[:16]).save(tmp_path / "cropped.png")
    (tmp_path / "cropped.nmfz").write_bytes(encode(rgb, rank=2, iterations=2))
    result = CliRunner().invoke(report_command, [str(tmp_path), "--json"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a message, no traceback
    document = strict_json(result.stdout)
    assert [e["name"] for e in document["images"]] == ["good.png"]
    reasons = {f["name"]: f["reason"] for f in document["summary"]["failed"]}
    assert set(reasons) == {"corrupt.png", "orphan.png", "broken.png", "cropped.png"}
    assert "no .nmfz file" in reasons["orphan.png"]
    assert "cannot read image" in reasons["broken.png"]
    assert "decoded image is" in reasons["cropped.png"]
    assert "4 of 5 images failed" in result.stderr


def test_compress_csv_html_and_table(tmp_path: Path):
    source = tmp_path / "in"
    source.mkdir()
    Image.fromarray(astronaut(48)).save(source / "a.png")
    Image.fromarray(astronaut(40)[..., 1]).save(source / "g.png")
    result = run(
        [
            "--compress",
            str(source),
            "--rank",
            "3",
            "--iterations",
            "4",
            "--csv",
            str(tmp_path / "r.csv"),
            "--html",
            str(tmp_path / "html"),
        ]
    )
    assert result.exit_code == 0
    for text in ("a.png", "g.png", "median", "worst psnr_rgb"):
        assert text in result.output
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert len(rows) == 3 and "ratio_png" in rows[0]
    page = (tmp_path / "html" / "report.html").read_text()
    sources = page.split('src="')[1:]
    assert len(sources) == 2 + 4 * 2  # two plots, four pictures per image
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "--rank 3" in page  # the command that made it
    assert "--threads" not in page  # unset options are left out
    assert not list(source.glob("*.nmfz"))  # compressed into a temporary folder


def test_usage_error_without_inputs():
    result = CliRunner().invoke(report_command, [])
    assert result.exit_code == 2 and "--compress DIR" in result.output


def test_summarize_names_the_worst():
    base = dict(
        width=1,
        height=1,
        pixels=1,
        original_bytes=1,
        png_bytes=1,
        bytes=1,
        bpp=1.0,
        ratio_raw=1.0,
        ratio_png=1.0,
        psnr_y=None,
        psnr_cb=None,
        psnr_cr=None,
        ssim=0.9,
        encode_s=None,
        decode_s=0.1,
    )
    psnrs = {"a": 30.0, "b": 20.0, "c": 40.0}
    summary = summarize([Measurement(name=n, psnr_rgb=p, **base) for n, p in psnrs.items()])
    assert summary["psnr_rgb"] == {
        "mean": 30.0,
        "median": 30.0,
        "min": 20.0,
        "max": 40.0,
        "worst": "b",
    }
    assert "psnr_cb" not in summary and "encode_s" not in summary


def test_worst_block_finds_the_damage():
    a = np.zeros((130, 200, 3), np.uint8)
    b = a.copy()
    b[70:80, 140:150] = 50
    assert worst_block(a, b) == (64, 128, 64)


def test_command_line_spells_out_every_option():
    import click

    @click.command("demo")
    @click.argument("paths", nargs=-1)
    @click.option("--rank", default=20)
    @click.option("--init", "inits", multiple=True)
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def demo(ctx, **_):
        click.echo(command_line(ctx))

    result = CliRunner().invoke(demo, ["x y.png", "--init", "a", "--init", "b"])
    assert result.output.strip() == "nmfz demo 'x y.png' --rank 20 --init a --init b"


def test_threads_option_sets_torch_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import torch

    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    Image.fromarray(astronaut(16)).save(tmp_path / "a.png")
    result = run(["--compress", str(tmp_path), "--threads", "1", "--iterations", "1"])
    assert result.exit_code == 0 and calls == [1]


def test_an_encoder_crash_is_listed_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import codec

    def boom(*args, **kwargs):
        raise RuntimeError("plug-in exploded")

    monkeypatch.setattr(codec, "encode", boom)
    Image.fromarray(astronaut(16)).save(tmp_path / "a.png")
    result = CliRunner().invoke(report_command, ["--compress", str(tmp_path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "a.png: RuntimeError: plug-in exploded" in result.stderr
