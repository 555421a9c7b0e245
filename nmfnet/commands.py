"""``nmfz fit-stats``, ``nmfz train`` and ``nmfz grid`` (entry-point group ``nmfz.commands``).

Only click is imported at module level, so that the CLI starts fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

TRAIN_IMAGES = Path("../shared/data/train")
_images = click.option(
    "--images",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=TRAIN_IMAGES,
    show_default=True,
    help="training images (never the Kodak set)",
)
_stats = click.option(
    "--stats",
    "stats_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="factor statistics JSON  [default: the package's]",
)


def _progress() -> bool:
    return sys.stderr.isatty()


def _set_threads(threads: int) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)


@click.command("fit-stats")
@_images
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="statistics JSON  [default: the package's stats_r20.json]",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also draw the Fig. 3.2/3.3-style PNG here",
)
@click.option("-r", "--rank", type=click.IntRange(1, 512), default=20, show_default=True)
@click.option("--iterations", type=click.IntRange(1), default=400, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def fit_stats(
    images: Path, out: Path | None, plot: Path | None, rank: int, iterations: int, seed: int
) -> None:
    """Fit the statistical factor model (thesis §3.1.3) on the chroma planes of IMAGES."""
    from nmfnet.data import thesis_planes
    from nmfnet.stats import DEFAULT_PATH, factor_quadruplets, fit_stats

    planes = thesis_planes(images)
    quadruplets = factor_quadruplets(planes, rank, iterations, seed)
    stats = fit_stats(quadruplets, rank)
    stats.save(out or DEFAULT_PATH)
    click.echo(
        f"fitted {stats.samples} planes (r={rank}, SED-MU {iterations}) -> {out or DEFAULT_PATH}"
    )
    if plot:
        from nmfnet.plots import plot_stats

        plot.parent.mkdir(parents=True, exist_ok=True)
        plot_stats(quadruplets, stats, plot)
        click.echo(f"plot -> {plot}")


def _train_settings(config: Path | None, options: dict[str, Any]) -> dict[str, Any]:
    settings = json.loads(config.read_text()) if config else {}
    settings.update({k: v for k, v in options.items() if v is not None})
    return settings


@click.command("train")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="run folder: log, checkpoints, reference PNGs (resumes from it)",
)
@click.option(
    "--config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON of TrainConfig settings; the flags below override it",
)
@_images
@_stats
@click.option("--loss", type=click.Choice(["mae", "mse"]))
@click.option(
    "--objective",
    type=click.Choice(["factors", "reconstruction", "unrolled", "projected", "clustered"]),
)
@click.option("--data", type=click.Choice(["synthetic", "real", "mixed"]))
@click.option("--window", type=click.IntRange(1))
@click.option("--funnel", type=click.FloatRange(1, min_open=True))
@click.option("--depth", type=click.IntRange(1))
@click.option("--unroll", type=click.IntRange(0), help="MU steps inside the 'unrolled' loss")
@click.option("--epochs", type=click.IntRange(1))
@click.option("--steps", type=click.IntRange(1))
@click.option("--batch", type=click.IntRange(1))
@click.option("--lr", type=click.FloatRange(0, min_open=True))
@click.option("--seed", type=int)
@click.option(
    "--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True
)
@click.option(
    "--threads", type=click.IntRange(0), default=0, help="torch CPU threads (0: torch's choice)"
)
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write the best epoch's weights here, for inference",
)
@click.option(
    "--refine-steps",
    type=click.IntRange(0),
    default=None,
    help="inference MU steps stored with --export  [default: --unroll]",
)
def train_command(
    out: Path,
    config: Path | None,
    images: Path,
    stats_path: Path | None,
    device: str,
    threads: int,
    export: Path | None,
    refine_steps: int | None,
    **options: Any,
) -> None:
    """Train an NMFNet (thesis loop by default: 15 epochs x 100 steps, Adam 1e-4)."""
    from codec.nmf import resolve_device
    from nmfnet.data import ChromaViews, image_paths, split_paths
    from nmfnet.plots import plot_training
    from nmfnet.stats import DEFAULT_PATH, FactorStats
    from nmfnet.train import Batches, TrainConfig, best_checkpoint, export_weights, read_log, train

    _set_threads(threads)
    try:
        settings = TrainConfig.from_dict(_train_settings(config, options))
        stats = FactorStats.load(stats_path or DEFAULT_PATH) if settings.data != "real" else None
        train_views = val_views = None
        if settings.data != "synthetic":
            train_paths, val_paths = split_paths(image_paths(images))
            train_views = ChromaViews.from_paths(train_paths, 204, 308)
            val_views = ChromaViews.from_paths(val_paths, 204, 308)
        batches = Batches(settings, stats, train_views, val_views)
        records = train(
            settings, out, batches, device=str(resolve_device(device)), progress=_progress()
        )
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    plot_training(*read_log(out), out / "training.png")
    best = min(records, key=lambda r: r["val_loss"])
    click.echo(
        f"best epoch {best['epoch']}: val loss {best['val_loss']:.5g}, SSIM {best['val_ssim']:.4f}"
    )
    if export:
        steps = settings.unroll if refine_steps is None else refine_steps
        export_weights(best_checkpoint(out), export, steps)
        click.echo(f"weights -> {export} (refine steps {steps})")


@click.command("grid")
@click.option(
    "--grid",
    "grid_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="grid JSON  [default: the package's grids/reduced.json]",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="results CSV, appended to and resumed from",
)
@_images
@_stats
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True)
@click.option("--epochs", type=click.IntRange(1), help="override the grid's epochs")
@click.option("--steps", type=click.IntRange(1), help="override the grid's steps")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="draw the Fig. 5.1-style summary PNG here",
)
def grid(
    grid_file: Path | None,
    out: Path,
    images: Path,
    stats_path: Path | None,
    workers: int,
    epochs: int | None,
    steps: int | None,
    plot: Path | None,
) -> None:
    """Grid search (thesis Table 4.3 in grids/thesis.json), one single-threaded model per worker."""
    from nmfnet.grid import GRIDS, read_rows, run_grid
    from nmfnet.stats import DEFAULT_PATH

    overrides = {k: v for k, v in (("epochs", epochs), ("steps", steps)) if v is not None}
    trained = run_grid(
        grid_file or GRIDS / "reduced.json",
        out,
        images,
        stats_path or DEFAULT_PATH,
        workers,
        overrides,
        progress=_progress(),
    )
    click.echo(f"trained {trained} models -> {out}")
    if plot:
        from nmfnet.plots import plot_grid

        plot_grid(read_rows(out), plot)
        click.echo(f"plot -> {plot}")
