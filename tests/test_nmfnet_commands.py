import json

import numpy as np
from click.testing import CliRunner
from PIL import Image

from nmfnet.commands import fit_stats, grid, train_command


def _images(folder, count=6):
    folder.mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:60] / 40
    for i in range(count):
        rgb = np.stack([np.sin(3 * x + i), np.cos(2 * y + i), x * y], -1)
        rgb = (rgb - rgb.min()) / np.ptp(rgb) * 200 + rng.uniform(0, 50, (40, 60, 3))
        Image.fromarray(rgb.astype(np.uint8)).save(folder / f"im{i}.png")
    return folder


def test_fit_stats_train_and_grid(tmp_path):
    images = _images(tmp_path / "images")
    runner = CliRunner()
    stats = tmp_path / "stats.json"
    result = runner.invoke(
        fit_stats,
        [
            "--images",
            str(images),
            "--out",
            str(stats),
            "--plot",
            str(tmp_path / "stats.png"),
            "--iterations",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(stats.read_text())["samples"] == 12 and (tmp_path / "stats.png").exists()

    args = [
        "--out",
        str(tmp_path / "run"),
        "--images",
        str(images),
        "--stats",
        str(stats),
        "--epochs",
        "1",
        "--steps",
        "2",
        "--batch",
        "2",
        "--depth",
        "1",
        "--funnel",
        "10",
    ]
    result = runner.invoke(train_command, [*args, "--export", str(tmp_path / "w.pt")])
    assert result.exit_code == 0, result.output
    assert "best epoch 0" in result.output and (tmp_path / "w.pt").exists()
    assert (tmp_path / "run" / "training.png").exists()

    spec = {
        "axes": {"loss": ["mae", "mse"], "window": [1], "funnel": [10.0], "depth": [1]},
        "base": {"epochs": 1, "steps": 1, "batch": 2, "val_batch": 2},
    }
    (tmp_path / "grid.json").write_text(json.dumps(spec))
    grid_args = [
        "--grid",
        str(tmp_path / "grid.json"),
        "--out",
        str(tmp_path / "grid.csv"),
        "--images",
        str(images),
        "--stats",
        str(stats),
    ]
    result = runner.invoke(grid, [*grid_args, "--plot", str(tmp_path / "grid.png")])
    assert result.exit_code == 0, result.output
    assert "trained 2 models" in result.output and (tmp_path / "grid.png").exists()
    assert len((tmp_path / "grid.csv").read_text().splitlines()) == 3
    assert "trained 0 models" in runner.invoke(grid, grid_args).output  # resumed: nothing left


def test_train_reports_bad_settings(tmp_path):
    result = CliRunner().invoke(
        train_command,
        [
            "--out",
            str(tmp_path / "run"),
            "--images",
            str(tmp_path),
            "--objective",
            "factors",
            "--data",
            "real",
        ],
    )
    assert result.exit_code == 1
    assert "objective 'factors' needs data 'synthetic'" in result.output
