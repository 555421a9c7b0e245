"""``nmfz bench-init``: the thesis's comparison of initializations (§5.2), reproduced and extended.

For every image, each initializer starts SED-MU (or another solver) on both chroma planes at
once; after every iteration the RGB image is rebuilt from Y' (exact) and W·H (float factors,
unquantized, as in the thesis) and compared with the original: MSE and PSNR at every
iteration, SSIM (scikit-image) at a schedule of iterations, as SSIM costs ~0.1 s per image.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

if TYPE_CHECKING:
    import torch

from codec import registry
from codec.options import SOLVER_NAMES
from codec.report import (
    Failure,
    collect_images,
    command_line,
    failure_message,
    number,
    progress,
    reason,
    table,
    threads_option,
    write_csv,
)

WITHIN = 1e-5
""""Within 0.001 %": the relative tolerance of the Table 5.2 analogue."""
NEAR_BEST = 0.01
"""An init is "within 1 %" once its MSE is at most 1.01 × the best final MSE of the image."""
HIGHER_IS_BETTER = {"mse": False, "psnr": True, "ssim": True}


def ssim_schedule(iterations: int, points: int) -> np.ndarray:
    """About ``points`` iterations, log-spaced, always 0 and the last (all when points > T)."""
    if points > iterations:
        return np.arange(iterations + 1)
    spaced = np.rint(np.geomspace(1, iterations, points - 1))
    return np.unique(np.concatenate([[0, iterations], spaced])).astype(int)


def psnr_of(mse: np.ndarray) -> np.ndarray:
    """PSNR (dB, peak 255) of MSE values; infinite where the MSE is 0."""
    with np.errstate(divide="ignore"):
        return 10 * np.log10(255.0**2 / np.asarray(mse, np.float64))


# ---------------------------------------------------------------- running one image


class Reconstruction:
    """An RGB image split into exact Y' and chroma matrices V (2, n, m) = (Cb, Cr) / 255,
    and the RGB rebuilt from factors of V as the decoder does (round, clip; the sums run in
    another order, so a rare pixel at a rounding tie may differ by 1)."""

    def __init__(self, rgb: np.ndarray):
        import torch

        from codec.color import INVERSE, OFFSET, rgb_to_ycbcr

        y, cb, cr = rgb_to_ycbcr(rgb)
        self.original = rgb
        self.y = torch.from_numpy(y.astype(np.float32))[None]
        self.V = torch.from_numpy(np.stack([cb, cr]) / np.float32(255))
        self.target = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)
        self.chroma_to_rgb = torch.from_numpy(INVERSE[:, 1:].astype(np.float32))  # (3, 2)
        self.offset = float(OFFSET)

    def rgb(self, WH: torch.Tensor) -> torch.Tensor:
        """(3, n, m) float tensor of whole numbers in [0, 255] from W·H of shape (2, n, m).

        Y' enters with weight 1 (the first column of the BT.601 inverse)."""
        import torch

        chroma = WH * 255.0 - self.offset  # Python scalars keep the tensor's float32
        rgb = self.y + torch.einsum("kc,cnm->knm", self.chroma_to_rgb, chroma)
        return rgb.round_().clamp_(0, 255)

    def mse(self, rgb: torch.Tensor) -> float:
        return float(((rgb - self.target) ** 2).sum()) / rgb.numel()


@dataclass(frozen=True)
class Trace:
    """One init's run on one image.

    Shape: mse (T + 1,); ssim (T + 1,) NaN where not evaluated; error (T + 1, 2) for Cb, Cr.
    """

    init: str
    init_s: float
    mse: np.ndarray
    ssim: np.ndarray
    error: np.ndarray

    @property
    def psnr(self) -> np.ndarray:
        return psnr_of(self.mse)

    def metric(self, name: str) -> np.ndarray:
        return {"mse": self.mse, "psnr": self.psnr, "ssim": self.ssim}[name]


def run_init(
    image: Reconstruction,
    init: str,
    *,
    rank: int,
    iterations: int,
    schedule: np.ndarray,
    algorithm: str,
    seed: int,
) -> tuple[Trace, np.ndarray]:
    """Initialize both chroma planes with ``init``, iterate, and measure every iteration.

    Returns the trace and the RGB image (n, m, 3) uint8 from the initial factors alone.
    """
    import torch

    from codec.metrics import ssim
    from codec.nmf import SOLVERS, initialize

    V = image.V
    start = time.perf_counter()
    W, H = initialize(V, rank, init, seed=seed)
    init_s = time.perf_counter() - start
    step, norm2 = SOLVERS[algorithm], (V.double() ** 2).sum((-2, -1))
    err2 = ((V - W @ H).double() ** 2).sum((-2, -1))
    mse, ssims = np.empty(iterations + 1), np.full(iterations + 1, np.nan)
    errors = np.empty((iterations + 1, 2))
    first = image.original
    with torch.no_grad():
        for i in range(iterations + 1):
            if i:
                W, H, err2 = step(V, W, H, norm2)
            rgb = image.rgb(W @ H)
            mse[i], errors[i] = image.mse(rgb), (err2.clamp_min(0) / norm2).sqrt().numpy()
            if i in schedule:  # the schedule always holds 0
                pixels = rgb.permute(1, 2, 0).numpy().astype(np.uint8)
                ssims[i] = ssim(image.original, pixels)
                first = pixels if i == 0 else first
    return Trace(init, init_s, mse, ssims, errors), first


def bench_image(
    path: Path, inits: Sequence[str], *, rank: int, **solver: Any
) -> tuple[Reconstruction, dict[str, tuple[Trace, np.ndarray]]]:
    """Every init's :func:`run_init` on one image file (rank capped at its smaller side)."""
    from codec.image_io import load

    pixels, _ = load(path)
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        raise ValueError("no colour, so no chroma to factor")
    image = Reconstruction(np.ascontiguousarray(pixels[..., :3]))
    used = min(rank, *pixels.shape[:2])
    return image, {init: run_init(image, init, rank=used, **solver) for init in inits}


def warm_up(inits: Sequence[str], rank: int, seed: int) -> list[Failure]:
    """Run each init once on a small matrix, so that no timing includes first-call costs;
    the inits that fail (a plug-in without its weights, say) with their reasons."""
    from codec.nmf import initialize

    side = 2 * rank + 8
    V = np.random.default_rng(0).random((2, side, side + 16), dtype=np.float32)
    failures = []
    for init in inits:
        try:
            initialize(V, rank, init, seed=seed)
        except Exception as error:  # a plug-in init may fail in its own way
            failures.append(Failure(f"init {init}", reason(error)))
    return failures


# ---------------------------------------------------------------- analysis (pure numpy)


def finals(runs: dict[str, list[Trace]], metric: str) -> dict[str, np.ndarray]:
    """Per init, the final value of ``metric`` of every image."""
    return {init: np.array([t.metric(metric)[-1] for t in traces]) for init, traces in runs.items()}


def better_shares(ours: np.ndarray, theirs: np.ndarray, higher: bool) -> tuple[float, float]:
    """Shares of images where ``ours`` is strictly better, and within 0.001 % or better."""
    if higher:
        return float(np.mean(ours > theirs)), float(np.mean(ours >= theirs * (1 - WITHIN)))
    return float(np.mean(ours < theirs)), float(np.mean(ours <= theirs * (1 + WITHIN)))


def first_reaching(curve: np.ndarray, target: float, higher: bool) -> int | None:
    """The first iteration whose (evaluated, non-NaN) value is at least as good as ``target``."""
    reached = curve >= target if higher else curve <= target
    hits = np.flatnonzero(reached & ~np.isnan(curve))
    return int(hits[0]) if hits.size else None


def reach_stats(counts: Sequence[int | None]) -> str:
    """The mean of iteration counts and how many reached, "mean (reached/total)"; None in
    ``counts`` means never reached."""
    reached = [c for c in counts if c is not None]
    mean = number(float(np.mean(reached)), 1) if reached else "—"
    return f"{mean} ({len(reached)}/{len(counts)})"


def random_reaches_start(runs: dict[str, list[Trace]], metric: str) -> dict[str, list[int | None]]:
    """Per init, the iterations random init needs on each image to reach that init's start."""
    higher = HIGHER_IS_BETTER[metric]
    return {
        init: [
            first_reaching(r.metric(metric), t.metric(metric)[0], higher)
            for r, t in zip(runs["random"], traces, strict=True)
        ]
        for init, traces in runs.items()
        if init != "random"
    }


def iterations_near_best(runs: dict[str, list[Trace]]) -> dict[str, list[int | None]]:
    """Per init, the iterations it needs on each image to come within 1 % of the best final MSE
    of any init on that image."""
    best = np.min(np.stack(list(finals(runs, "mse").values())), 0)
    return {
        init: [
            first_reaching(t.mse, b * (1 + NEAR_BEST), False)
            for t, b in zip(traces, best, strict=True)
        ]
        for init, traces in runs.items()
    }


def mean_curves(runs: dict[str, list[Trace]], metric: str) -> dict[str, np.ndarray]:
    """Per init, the mean over images of ``metric`` at every iteration (NaN where unevaluated)."""
    return {init: np.mean([t.metric(metric) for t in traces], 0) for init, traces in runs.items()}


# ---------------------------------------------------------------- outputs


def plot_convergence(runs: dict[str, list[Trace]], path: Path, first: int = 0) -> None:
    """MSE, PSNR and SSIM vs iteration, mean over images (Fig. 5.5), from iteration ``first``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.5))
    for ax, metric in zip(fig.subplots(1, 3), HIGHER_IS_BETTER, strict=True):
        for init, curve in mean_curves(runs, metric).items():
            x = np.flatnonzero(~np.isnan(curve))
            x = x[x >= first]
            ax.plot(x, curve[x], marker="." if metric == "ssim" else None, label=init)
        ax.set(xlabel="iteration", ylabel=f"mean {metric.upper()}", title=metric.upper())
        ax.grid(alpha=0.3)
        if metric == "mse":
            ax.set_yscale("log")
    fig.axes[0].legend()
    scale = "full scale" if first == 0 else f"from iteration {first}"
    fig.suptitle(
        f"SED-MU convergence by initialization, mean of {len(next(iter(runs.values())))} "
        f"images ({scale})"
    )
    fig.savefig(path, dpi=100, bbox_inches="tight")


@dataclass(frozen=True)
class SheetRow:
    """One image of the Fig. 5.6 sheet: the original and, per init, the image and PSNR from
    the initial factors alone."""

    name: str
    original: np.ndarray
    starts: dict[str, tuple[np.ndarray, float]]


def plot_sheet(sheet: Sequence[SheetRow], path: Path) -> None:
    """Fig. 5.6: each image beside its reconstructions from the initial factors alone."""
    from matplotlib.figure import Figure

    columns = len(sheet[0].starts) + 1
    fig = Figure(figsize=(2.2 * columns, 1.7 * len(sheet)))
    axes = np.atleast_2d(fig.subplots(len(sheet), columns))
    for row, entry in enumerate(sheet):
        panels = [(f"{entry.name}\noriginal", entry.original)] + [
            (f"{init}\n{number(psnr, 1)} dB", pixels)
            for init, (pixels, psnr) in entry.starts.items()
        ]
        for ax, (title, pixels) in zip(axes[row], panels, strict=True):
            ax.imshow(pixels)
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.savefig(path, dpi=120, bbox_inches="tight")


def summary_table(runs: dict[str, list[Trace]]) -> str:
    """Per init: init time, and mean start → final MSE / PSNR / SSIM and chroma error."""
    rows = []
    for init, traces in runs.items():
        row = [init, number(float(np.mean([t.init_s for t in traces])), 3)]
        for metric, digits in (("mse", 2), ("psnr", 2), ("ssim", 4)):
            curves = np.array([t.metric(metric) for t in traces])
            row += [
                number(float(curves[:, 0].mean()), digits),
                number(float(curves[:, -1].mean()), digits),
            ]
        errors = np.array([t.error.mean(1) for t in traces])
        row += [number(float(errors[:, 0].mean()), 4), number(float(errors[:, -1].mean()), 4)]
        rows.append(row)
    headers = [
        "init",
        "init s",
        "MSE start",
        "MSE final",
        "PSNR start",
        "PSNR final",
        "SSIM start",
        "SSIM final",
        "chroma err start",
        "chroma err final",
    ]
    return table(headers, rows)


def versus_rows(runs: dict[str, list[Trace]], ours: str) -> list[dict[str, Any]]:
    """Table 5.2 rows: ``ours`` against every other init, per metric, as shares in [0, 1]."""
    final = {metric: finals(runs, metric) for metric in HIGHER_IS_BETTER}
    rows = []
    for other in runs:
        if other == ours:
            continue
        row: dict[str, Any] = {"init": ours, "versus": other}
        for metric, higher in HIGHER_IS_BETTER.items():
            values = final[metric]
            strict, within = better_shares(values[ours], values[other], higher)
            row[f"{metric}_strictly_better"], row[f"{metric}_within"] = strict, within
        rows.append(row)
    return rows


def versus_table(runs: dict[str, list[Trace]], ours: str) -> str:
    kinds = (("strictly_better", "better"), ("within", "≤0.001%"))
    rows = [
        [r["versus"]] + [f"{100 * r[f'{m}_{k}']:.0f} %" for k, _ in kinds for m in HIGHER_IS_BETTER]
        for r in versus_rows(runs, ours)
    ]
    headers = [f"{ours} vs"]
    headers += [f"{m.upper()} {label}" for _, label in kinds for m in HIGHER_IS_BETTER]
    return table(headers, rows)


def reach_table(runs: dict[str, list[Trace]]) -> str:
    per_metric = {m: random_reaches_start(runs, m) for m in HIGHER_IS_BETTER}
    rows = [
        [init] + [reach_stats(per_metric[m][init]) for m in HIGHER_IS_BETTER]
        for init in per_metric["mse"]
    ]
    return table(["init", "MSE", "PSNR", "SSIM (on the schedule)"], rows)


def near_best_table(runs: dict[str, list[Trace]]) -> str:
    near = iterations_near_best(runs)
    best = np.argmin(np.stack(list(finals(runs, "mse").values())), 0)
    wins = {init: int(np.sum(best == k)) for k, init in enumerate(runs)}
    rows = [[init, reach_stats(counts), str(wins[init])] for init, counts in near.items()]
    return table(
        [
            "init",
            "iterations to ≤ 1.01 × best final MSE (reached/images)",
            "images where best final",
        ],
        rows,
    )


def per_image_table(names: Sequence[str], runs: dict[str, list[Trace]]) -> str:
    psnr = finals(runs, "psnr")
    rows = [[n] + [number(float(psnr[i][k]), 2) for i in runs] for k, n in enumerate(names)]
    return table(["image", *runs], rows)


def markdown(
    names: Sequence[str],
    runs: dict[str, list[Trace]],
    *,
    ours: str,
    command: str,
    schedule: np.ndarray,
    failures: Sequence[Failure],
    skipped: Sequence[Failure],
    wall_s: float,
    options: dict[str, Any],
) -> str:
    import torch

    from codec import __version__

    sections = [
        "# nmfz bench-init",
        "",
        f"Command: `{command}`",
        "",
        f"nmfz {__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"Python {platform.python_version()}; {len(names)} images; wall time {wall_s:.0f} s.",
        "",
        "Options: " + ", ".join(f"{k}={v}" for k, v in options.items()),
        "",
        "Factors are float (unquantized), as in the thesis; RGB is rebuilt from exact Y' and W·H, "
        "rounded and clipped like the decoder. MSE and PSNR are measured at every iteration; "
        f"SSIM (scikit-image, data_range=255, channel_axis) only at iterations "
        f"{', '.join(map(str, schedule))}, "
        "so SSIM iteration counts are the first scheduled iteration that reaches the target.",
        "",
        "## Start and end, mean over images",
        "",
        summary_table(runs),
        "",
        f"## Table 5.2 analogue: share of images where {ours}'s final value is better",
        "",
        versus_table(runs, ours),
        "",
        "(every pair: `pairwise.csv`)",
        "",
    ]
    if "random" in runs:
        sections += [
            "## Iterations random init needs to reach each init's starting value",
            "",
            "mean over the images that reach it (reached/images)",
            "",
            reach_table(runs),
            "",
        ]
    sections += [
        "## Iterations to come within 1 % of the best final MSE of any init",
        "",
        near_best_table(runs),
        "",
        "## Final RGB PSNR per image (dB)",
        "",
        per_image_table(names, runs),
        "",
        "Files: `convergence.png`, `convergence_zoom.png` (Fig. 5.5), "
        "`initial_factors.png` (Fig. 5.6), `iterations.csv`, `images.csv`, "
        "`pairwise.csv`.",
        "",
    ]
    for title, items in (
        ("Skipped (registered, but would not run)", skipped),
        ("Failed", failures),
    ):
        if items:
            sections += [f"## {title}", ""] + [f"- {f.name}: {f.reason}" for f in items] + [""]
    return "\n".join(sections)


def write_csvs(out: Path, names: Sequence[str], runs: dict[str, list[Trace]]) -> None:
    iteration_rows, image_rows = [], []
    for init, traces in runs.items():
        for name, t in zip(names, traces, strict=True):
            for i in range(len(t.mse)):
                iteration_rows.append(
                    {
                        "image": name,
                        "init": init,
                        "iteration": i,
                        "mse": t.mse[i],
                        "psnr": t.psnr[i],
                        "ssim": None if np.isnan(t.ssim[i]) else t.ssim[i],
                        "error_cb": t.error[i, 0],
                        "error_cr": t.error[i, 1],
                    }
                )
            row = {"image": name, "init": init, "init_s": t.init_s}
            for m in HIGHER_IS_BETTER:
                row[f"{m}_start"], row[f"{m}_final"] = t.metric(m)[0], t.metric(m)[-1]
            image_rows.append(row)
    write_csv(out / "iterations.csv", iteration_rows)
    write_csv(out / "images.csv", image_rows)
    write_csv(out / "pairwise.csv", [row for init in runs for row in versus_rows(runs, init)])


# ---------------------------------------------------------------- the command


@click.command("bench-init")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for results.md, the CSV files and the plots.",
)
@click.option("-r", "--rank", type=click.IntRange(1, 4096), default=20, show_default=True)
@click.option("--iterations", type=click.IntRange(1, 100000), default=150, show_default=True)
@click.option(
    "--init",
    "inits",
    multiple=True,
    type=click.Choice(sorted(registry.INITIALIZERS)),
    help="Initializers to compare (repeat the option); default: every registered one.",
)
@click.option(
    "--versus",
    type=click.Choice(sorted(registry.INITIALIZERS)),
    help="The init the Table 5.2 analogue compares with the others "
    "[default: nmfnet when it runs, else kmeans].",
)
@click.option(
    "--algorithm",
    type=click.Choice(SOLVER_NAMES),
    default="mu",
    show_default=True,
    help="Solver after the init (the thesis: SED-MU).",
)
@click.option(
    "--ssim-points",
    type=click.IntRange(2),
    default=17,
    show_default=True,
    help="Evaluate SSIM at about this many log-spaced iterations (0 and the last "
    "included); more than --iterations means every iteration.",
)
@click.option(
    "--sheet",
    type=click.IntRange(0),
    default=4,
    show_default=True,
    help="Images in the sheet of initial reconstructions (Fig. 5.6).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@threads_option
@click.pass_context
def bench_init_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path,
    rank: int,
    iterations: int,
    inits: tuple[str, ...],
    versus: str | None,
    algorithm: str,
    ssim_points: int,
    sheet: int,
    seed: int,
    threads: int | None,  # applied by the option itself
) -> None:
    """Compare NMF initializations on the chroma of images (the thesis's §5.2)."""
    command, began = command_line(ctx), time.perf_counter()
    skipped = warm_up(inits or tuple(registry.INITIALIZERS), rank, seed)
    if inits and skipped:
        raise click.ClickException(failure_message(skipped, len(inits)))
    broken = {f.name.removeprefix("init ") for f in skipped}
    inits = tuple(i for i in inits or registry.INITIALIZERS if i not in broken)
    versus = versus or ("nmfnet" if "nmfnet" in inits else "kmeans")
    if versus not in inits:
        raise click.UsageError(f"--versus {versus} is not among the inits {list(inits)}")
    schedule = ssim_schedule(iterations, ssim_points)
    solver = {"iterations": iterations, "schedule": schedule, "algorithm": algorithm, "seed": seed}
    names: list[str] = []
    runs: dict[str, list[Trace]] = {init: [] for init in inits}
    sheet_rows: list[SheetRow] = []
    failures: list[Failure] = []
    for path in progress(collect_images(paths), "bench-init"):
        try:
            image, results = bench_image(path, inits, rank=rank, **solver)
        except Exception as error:  # one bad image (or init) never stops the run
            failures.append(Failure(path.name, reason(error)))
            continue
        names.append(path.name)
        for init, (trace, _) in results.items():
            runs[init].append(trace)
        if len(sheet_rows) < sheet:
            starts = {i: (start, float(t.psnr[0])) for i, (t, start) in results.items()}
            sheet_rows.append(SheetRow(path.name, image.original, starts))
    if not names:
        raise click.ClickException(failure_message(failures, len(failures)))
    out.mkdir(parents=True, exist_ok=True)
    write_csvs(out, names, runs)
    plot_convergence(runs, out / "convergence.png")
    plot_convergence(runs, out / "convergence_zoom.png", first=max(1, iterations // 5))
    if sheet_rows:
        plot_sheet(sheet_rows, out / "initial_factors.png")
    options = {
        "rank": rank,
        "iterations": iterations,
        "algorithm": algorithm,
        "seed": seed,
        "inits": ",".join(inits),
        "ssim_points": ssim_points,
    }
    text = markdown(
        names,
        runs,
        ours=versus,
        command=command,
        schedule=schedule,
        failures=failures,
        skipped=skipped,
        wall_s=time.perf_counter() - began,
        options=options,
    )
    (out / "results.md").write_text(text, encoding="utf-8")
    click.echo(text)
    if failures:
        raise click.ClickException(failure_message(failures, len(failures) + len(names)))
