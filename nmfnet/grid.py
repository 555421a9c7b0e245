"""Grid search over NMFNet hyperparameters: a grid file, several workers, a resumable CSV.

A grid file (JSON, see ``grids/``) names ``axes`` — lists of values for TrainConfig fields,
whose product is the grid — and ``base`` settings shared by every model. Each finished model
appends one CSV row; rerunning skips the rows already there.
"""

from __future__ import annotations

import csv
import functools
import itertools
import json
import multiprocessing
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GRIDS = Path(__file__).with_name("grids")
COLUMNS = (
    "loss",
    "window",
    "funnel",
    "depth",
    "parameters",
    "seconds",
    "val_loss",
    "best_val_loss",
    "val_ssim",
    "best_val_ssim",
)


def grid_configs(path: Path) -> Iterator[dict[str, Any]]:
    """Every TrainConfig settings dict of a grid file, axes varying fastest on the right."""
    spec = json.loads(Path(path).read_text())
    names = list(spec["axes"])
    for values in itertools.product(*(spec["axes"][n] for n in names)):
        yield {**spec.get("base", {}), **dict(zip(names, values, strict=True))}


def run_key(settings: dict[str, Any]) -> str:
    return "-".join(
        f"{k}{float(settings[k]):g}" if k == "funnel" else f"{k}{settings[k]}"
        for k in ("loss", "window", "funnel", "depth")
    )


def done_keys(csv_path: Path) -> set[str]:
    if not csv_path.exists():
        return set()
    with open(csv_path, newline="") as f:
        return {run_key(row) for row in csv.DictReader(f)}


@functools.cache
def _batches_inputs(images: str, stats_path: str):
    from nmfnet.data import ChromaViews, image_paths, split_paths
    from nmfnet.stats import FactorStats

    train, val = split_paths(image_paths(Path(images)))
    return (
        FactorStats.load(Path(stats_path)),
        ChromaViews.from_paths(train, 204, 308),
        ChromaViews.from_paths(val, 204, 308),
    )


def train_one(job: tuple[dict[str, Any], str, str, str]) -> dict[str, Any]:
    """Train one grid model (single-threaded) and return its CSV row; its run folder is
    removed after success, so only resumable partial runs take disk space."""
    import torch

    from nmfnet.model import parameter_count
    from nmfnet.train import Batches, TrainConfig, train

    settings, images, stats_path, runs = job
    torch.set_num_threads(1)
    config = TrainConfig.from_dict(settings)
    out = Path(runs) / run_key(settings)
    started = time.perf_counter()
    records = train(
        config, out, Batches(config, *_batches_inputs(images, stats_path)), keep_all=False
    )
    shutil.rmtree(out)
    return {
        **{k: settings[k] for k in COLUMNS[:4]},
        "parameters": parameter_count(config.net),
        "seconds": round(time.perf_counter() - started, 2),
        "val_loss": records[-1]["val_loss"],
        "best_val_loss": min(r["val_loss"] for r in records),
        "val_ssim": records[-1]["val_ssim"],
        "best_val_ssim": max(r["val_ssim"] for r in records),
    }


def run_grid(
    grid: Path,
    csv_path: Path,
    images: Path,
    stats_path: Path,
    workers: int = 1,
    overrides: dict[str, Any] | None = None,
    progress: bool = False,
) -> int:
    """Train the grid's models not yet in ``csv_path``; returns how many were trained."""
    from tqdm import tqdm

    todo = [{**s, **(overrides or {})} for s in grid_configs(grid)]
    done = done_keys(csv_path)
    todo = [s for s in todo if run_key(s) not in done]
    jobs = [(s, str(images), str(stats_path), str(csv_path.parent / "runs")) for s in todo]
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    new_file = not csv_path.exists()
    with (
        open(csv_path, "a", newline="") as f,
        tqdm(total=len(jobs), disable=not progress, unit="model") as bar,
    ):
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new_file:
            writer.writeheader()
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            for row in pool.imap_unordered(train_one, jobs):
                writer.writerow(row)
                f.flush()
                bar.update()
    return len(jobs)


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    with open(csv_path, newline="") as f:
        return list(csv.DictReader(f))
