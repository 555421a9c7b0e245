"""The nmfz command line, driven through click's CliRunner: exit codes, messages, files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import codec
from codec.cli import cli

FAST = ["--rank", "4", "--iterations", "5", "--device", "cpu"]


@pytest.fixture
def folder(tmp_path: Path, photo: np.ndarray) -> Path:
    """photos/ with two images in a subfolder tree, and a text file to skip."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(photo).save(root / "a.png")
    Image.fromarray(photo[::2, ::2]).convert("L").save(root / "sub" / "b.bmp")
    (root / "notes.txt").write_text("not an image")
    return root


def run(*args: str) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_compress_and_decompress_one_file(folder):
    source = folder / "a.png"
    result = run("compress", source, *FAST, "--verify")
    assert result.exit_code == 0, result.output
    assert "PSNR" in result.output and (folder / "a.nmfz").exists()
    result = run("decompress", folder / "a.nmfz", "-o", folder / "back.png")
    assert result.exit_code == 0, result.output
    decoded = np.asarray(Image.open(folder / "back.png"))
    assert np.array_equal(decoded, codec.decode((folder / "a.nmfz").read_bytes()))


def test_folder_tree_is_mirrored_and_non_images_noted(folder, tmp_path):
    out = tmp_path / "out"
    result = run("compress", folder, "-o", out, *FAST)
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "a.nmfz",
        "sub",
        "sub/b.nmfz",
    ]
    assert "skipped" in result.output and "notes.txt" in result.output
    back = tmp_path / "back"
    result = run("decompress", out, "-o", back, "--format", "tiff")
    assert result.exit_code == 0, result.output
    assert (back / "sub" / "b.tiff").exists()


def test_output_folder_inside_the_input_is_not_read_again(folder):
    assert run("compress", folder, "-o", folder / "out", *FAST).exit_code == 0
    result = run("compress", folder, "-o", folder / "out", *FAST, "--overwrite")
    assert result.exit_code == 0 and "a.nmfz (not an image)" not in result.output


def test_existing_output_is_not_overwritten(folder):
    assert run("compress", folder / "a.png", *FAST).exit_code == 0
    before = (folder / "a.nmfz").read_bytes()
    result = run("compress", folder / "a.png", "--rank", "2", "--iterations", "1")
    assert result.exit_code == 1
    assert "exists (use --overwrite to replace it)" in result.output
    assert (folder / "a.nmfz").read_bytes() == before
    assert run("compress", folder / "a.png", "--rank", "2", "--overwrite").exit_code == 0
    assert (folder / "a.nmfz").read_bytes() != before


def test_bad_inputs_fail_by_name_and_the_rest_is_done(folder):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is no png")
    result = run("compress", folder, *FAST)
    assert result.exit_code == 1
    assert "broken.png: cannot read image" in result.output
    assert "1 of 3 inputs failed" in result.output
    assert "Traceback" not in result.output
    assert (folder / "a.nmfz").exists() and (folder / "sub" / "b.nmfz").exists()


def test_corrupt_nmfz_fails_cleanly(folder):
    (folder / "bad.nmfz").write_bytes(b"NMFZ" + bytes(30))
    result = run("decompress", folder / "bad.nmfz")
    assert result.exit_code == 1
    assert "bad.nmfz: header checksum mismatch" in result.output
    assert not (folder / "bad.png").exists()
    assert run("info", folder / "bad.nmfz").exit_code == 1


def test_debug_shows_the_traceback(folder):
    (folder / "bad.nmfz").write_bytes(b"garbage")
    with pytest.raises(codec.FormatError):
        CliRunner().invoke(
            cli, ["decompress", str(folder / "bad.nmfz"), "--debug"], catch_exceptions=False
        )


def test_json_summary(folder, tmp_path):
    result = CliRunner().invoke(
        cli, ["compress", str(folder), "-o", str(tmp_path / "o"), "--json", *FAST]
    )
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["summary"]["ok"] == 2 and report["summary"]["skipped"] == 1
    first = report["files"][0]
    assert first["bytes_out"] == (tmp_path / "o" / "a.nmfz").stat().st_size
    assert first["bpp"] == pytest.approx(8 * first["bytes_out"] / (96 * 128))


def test_info_json(folder):
    run("compress", folder / "a.png", *FAST)
    result = run("info", folder / "a.nmfz", "--json")
    info = json.loads(result.output)
    assert result.exit_code == 0
    assert (info["width"], info["height"], info["chroma"]["rank"]) == (128, 96, 4)


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tiff", ".bmp"])
def test_lossless_output_formats(folder, suffix):
    run("compress", folder / "a.png", *FAST)
    target = folder / f"out{suffix}"
    assert run("decompress", folder / "a.nmfz", "-o", target).exit_code == 0
    assert np.array_equal(
        np.asarray(Image.open(target).convert("RGB")),
        codec.decode((folder / "a.nmfz").read_bytes()),
    )


def test_usage_errors_exit_2(folder):
    run("compress", folder / "a.png", *FAST)
    assert run("decompress", folder / "a.nmfz", "-o", folder / "x.jpg").exit_code == 2
    assert run("compress", folder / "a.png", "--rank", "0").exit_code == 2
    assert run("compress", folder / "missing.png").exit_code == 2
    assert run("compress", folder / "a.png", "--init", "magic").exit_code == 2


def test_two_inputs_with_one_output_name_do_not_clobber(folder):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.bmp")
    result = run("compress", folder / "a.png", folder / "a.bmp", *FAST)
    assert result.exit_code == 1 and "is also the output of" in result.output


def test_workers_give_the_same_bytes(folder, tmp_path):
    assert run("compress", folder, "-o", tmp_path / "one", *FAST).exit_code == 0
    assert run("compress", folder, "-o", tmp_path / "two", "-j", "2", *FAST).exit_code == 0
    for name in ("a.nmfz", "sub/b.nmfz"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_no_temporary_files_are_left_and_modes_follow_the_umask(folder):
    previous = os.umask(0o022)
    try:
        run("compress", folder, *FAST)
    finally:
        os.umask(previous)
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert stat.S_IMODE((folder / "a.nmfz").stat().st_mode) == 0o644


def test_icc_profile_survives_the_command_line(folder):
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.open(folder / "a.png").save(folder / "c.png", icc_profile=profile)
    assert run("compress", folder / "c.png", *FAST).exit_code == 0
    assert run("decompress", folder / "c.nmfz", "-o", folder / "c2.png").exit_code == 0
    assert Image.open(folder / "c2.png").info.get("icc_profile") == profile


def test_version_and_help():
    assert codec.__version__ in run("--version").output
    assert "--rank" in run("compress", "--help").output


def test_ctrl_c_leaves_no_partial_file(folder, monkeypatch, capsys):
    from codec import batch
    from codec import cli as cli_module

    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch.os, "fsync", interrupt)  # Ctrl-C in the middle of a write
    monkeypatch.setattr("sys.argv", ["nmfz", "compress", str(folder / "a.png"), *FAST])
    with pytest.raises(SystemExit) as exit_info:
        cli_module.main()
    assert exit_info.value.code == 130
    assert "interrupted" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir() if p.is_file()] == ["a.png", "notes.txt"]
