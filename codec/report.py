"""``nmfz report``: per-image quality and size of .nmfz files against their originals.

Also the helpers the evaluation commands share (``nmfz bench-init``, ``nmfz compare``):
listing images, progress bars, tables, CSV, JSON-safe numbers and the reproducing command line.
Module level imports only light things, so that ``nmfz --help`` stays fast.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np

from codec.options import encode_options

T = TypeVar("T")

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".ppm", ".pgm", ".pnm"}
)
"""File name endings that count as images when a folder is listed."""

JSON_KEYS = (
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
)
"""The keys of each ``images`` entry of ``nmfz report --json``, exactly (scripts rely on them)."""
"""``codec.nmf.SOLVERS``' names, known without importing torch."""


# ---------------------------------------------------------------- helpers shared by the tools


@dataclass(frozen=True)
class Failure:
    """An input that could not be measured, and why."""

    name: str
    reason: str


def reason(error: Exception) -> str:
    """Why an input failed: the message of our own ValueErrors (FormatError included), the
    class and message of anything else (a plug-in initializer's, a codec library's)."""
    return str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"


def failure_message(failures: Sequence[Failure], total: int) -> str:
    """One line naming every failed input and its reason."""
    listed = "; ".join(f"{f.name}: {f.reason}" for f in failures)
    return f"{len(failures)} of {total} images failed: {listed}"


def collect_images(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and each folder's image files (by suffix, sorted, not recursive)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            found.append(path)
    return found


def progress(items: Sequence[T], label: str) -> Iterator[T]:
    """Iterate with a tqdm bar on stderr, shown only when stderr is a terminal."""
    from tqdm import tqdm

    shown = sys.stderr.isatty()
    yield from tqdm(items, desc=label, unit="image", file=sys.stderr, disable=not shown)


def _render_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def command_line(ctx: click.Context) -> str:
    """The command with every parameter's value spelled out (defaults too), to rerun it."""
    parts = ["nmfz", ctx.command.name or ""]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        name = max(param.opts, key=len)  # the long spelling
        if isinstance(param, click.Argument):
            parts += [str(v) for v in value] if isinstance(value, tuple) else [str(value)]
        elif isinstance(param, click.Option) and param.is_flag:
            parts.append(name if value else next(iter(param.secondary_opts), ""))
        elif isinstance(param, click.Option) and param.multiple:
            for item in value or ():
                parts += [name, str(item)]
        elif value is not None:
            parts += [name, _render_value(value)]
    return shlex.join(p for p in parts if p)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (infinite PSNR) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def number(value: float | int | None, digits: int = 2) -> str:
    """A table cell: fixed digits, ``inf`` for lossless, an em dash for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, int):
        return str(value)
    return "inf" if math.isinf(value) else f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A markdown table with aligned columns (readable in a terminal too)."""
    rows = [list(r) for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of equal keys to ``path``; missing values are empty cells."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)


def png_data_uri(pixels: np.ndarray) -> str:
    """A uint8 image as an inline ``data:image/png`` URI."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_data_uri(fig: Any) -> str:
    """A matplotlib figure as an inline ``data:image/png`` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value:
        import torch

        torch.set_num_threads(value)
    return value


threads_option = click.option(
    "--threads",
    type=click.IntRange(1),
    callback=_set_threads,
    help="torch CPU threads [default: torch's]; 1 is fastest on a busy machine.",
)
"""``--threads N``: set torch's CPU threads as soon as the option is parsed."""


# ---------------------------------------------------------------- measuring one image


@dataclass(frozen=True)
class Measurement:
    """Sizes, quality and timing of one decoded image against its original."""

    name: str
    width: int
    height: int
    pixels: int
    original_bytes: int
    png_bytes: int
    bytes: int
    bpp: float
    ratio_raw: float
    ratio_png: float
    psnr_rgb: float
    psnr_y: float | None
    psnr_cb: float | None
    psnr_cr: float | None
    ssim: float
    encode_s: float | None
    decode_s: float


HIGHER_IS_BETTER = {
    "bpp": False,
    "ratio_raw": True,
    "ratio_png": True,
    "psnr_rgb": True,
    "psnr_y": True,
    "psnr_cb": True,
    "psnr_cr": True,
    "ssim": True,
    "encode_s": False,
    "decode_s": False,
}
"""The summarized fields, and which way is better (the worst image is the other end)."""


def channel_psnrs(original: np.ndarray, decoded: np.ndarray) -> tuple[float, float, float]:
    """PSNR of Y', Cb and Cr (BT.601, computed in float from both RGB images)."""
    from codec.color import FORWARD
    from codec.metrics import psnr

    a = original.astype(np.float64) @ FORWARD.T
    b = decoded.astype(np.float64) @ FORWARD.T
    y, cb, cr = (psnr(a[..., k], b[..., k]) for k in range(3))
    return y, cb, cr


def visible(pixels: np.ndarray) -> np.ndarray:
    """The colour (or gray) channels, without alpha (stored losslessly by nmfz)."""
    if pixels.ndim == 2:
        return pixels
    return pixels[..., 0] if pixels.shape[2] == 2 else pixels[..., :3]


def measure(
    name: str, original_path: Path, data: bytes, encode_s: float | None
) -> tuple[Measurement, np.ndarray, np.ndarray]:
    """Decode ``data`` and compare with the image at ``original_path``.

    Returns the measurement and the visible channels of the original and the decoded image.
    Raises ValueError (or its subclass FormatError) naming the reason when it cannot measure.
    """
    from codec import decode
    from codec.image_io import load, render
    from codec.metrics import psnr, ssim

    original, icc = load(original_path)
    start = time.perf_counter()
    decoded = decode(data)
    decode_s = time.perf_counter() - start
    if decoded.shape != original.shape:
        raise ValueError(f"decoded image is {decoded.shape}, the original {original.shape}")
    height, width = original.shape[:2]
    raw_bytes = original.size  # 8 bits per sample: 24 bits per pixel for RGB
    png_bytes = len(render(original, ".png", icc))
    a, b = visible(original), visible(decoded)
    y, cb, cr = channel_psnrs(a, b) if a.ndim == 3 else (psnr(a, b), None, None)
    result = Measurement(
        name=name,
        width=width,
        height=height,
        pixels=width * height,
        original_bytes=original_path.stat().st_size,
        png_bytes=png_bytes,
        bytes=len(data),
        bpp=8 * len(data) / (width * height),
        ratio_raw=raw_bytes / len(data),
        ratio_png=png_bytes / len(data),
        psnr_rgb=psnr(a, b),
        psnr_y=y,
        psnr_cb=cb,
        psnr_cr=cr,
        ssim=ssim(a, b),
        encode_s=encode_s,
        decode_s=decode_s,
    )
    return result, a, b


def summarize(measurements: Sequence[Measurement]) -> dict[str, dict[str, Any]]:
    """Per field: mean, median, min, max and the worst image's name (missing values skipped)."""
    summary: dict[str, dict[str, Any]] = {}
    for field, higher in HIGHER_IS_BETTER.items():
        pairs = [(getattr(m, field), m.name) for m in measurements if getattr(m, field) is not None]
        if not pairs:
            continue
        values = [v for v, _ in pairs]
        worst = min(pairs) if higher else max(pairs)
        summary[field] = {
            "mean": float(np.mean(values)),
            "median": float(statistics.median(values)),
            "min": float(min(values)),
            "max": float(max(values)),
            "worst": worst[1],
        }
    return summary


# ---------------------------------------------------------------- outputs


TERMINAL_COLUMNS = (
    ("name", "image"),
    ("bytes", "bytes"),
    ("bpp", "bpp"),
    ("ratio_raw", "×raw"),
    ("ratio_png", "×PNG"),
    ("psnr_rgb", "PSNR"),
    ("psnr_y", "Y'"),
    ("psnr_cb", "Cb"),
    ("psnr_cr", "Cr"),
    ("ssim", "SSIM"),
    ("encode_s", "enc s"),
    ("decode_s", "dec s"),
)
_DIGITS = {"ssim": 4, "encode_s": 3, "decode_s": 3, "bpp": 3}


def _cell(field: str, value: Any) -> str:
    return value if isinstance(value, str) else number(value, _DIGITS.get(field, 2))


def text_report(
    measurements: Sequence[Measurement],
    summary: dict[str, dict[str, Any]],
    failures: Sequence[Failure],
) -> str:
    """The terminal table: one row per image, then mean / median / min / worst."""
    headers = [label for _, label in TERMINAL_COLUMNS]
    rows = [[_cell(f, getattr(m, f)) for f, _ in TERMINAL_COLUMNS] for m in measurements]
    for stat in ("mean", "median", "min", "max"):
        rows.append(
            [stat]
            + [_cell(f, summary[f][stat]) if f in summary else "" for f, _ in TERMINAL_COLUMNS[1:]]
        )
    lines = [table(headers, rows), ""]
    lines += [f"worst {f}: {s['worst']}" for f, s in summary.items() if "psnr" in f or f == "ssim"]
    lines += [f"FAILED {f.name}: {f.reason}" for f in failures]
    return "\n".join(lines)


def json_report(
    measurements: Sequence[Measurement],
    summary: dict[str, dict[str, Any]],
    failures: Sequence[Failure],
    command: str,
) -> str:
    """``{"images": [...], "summary": {...}}``; infinite PSNR becomes null."""
    document = {
        "images": [{k: getattr(m, k) for k in JSON_KEYS} for m in measurements],
        "summary": {
            "count": len(measurements),
            "failed": [asdict(f) for f in failures],
            "command": command,
            **summary,
        },
    }
    return json.dumps(json_safe(document), indent=2, allow_nan=False)


def worst_block(a: np.ndarray, b: np.ndarray, size: int = 64) -> tuple[int, int, int]:
    """(row, col, size) of the aligned size × size block with the largest squared error."""
    size = min(size, a.shape[0], a.shape[1])
    err = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    err = err.sum(-1) if err.ndim == 3 else err
    rows, cols = err.shape[0] // size, err.shape[1] // size
    blocks = err[: rows * size, : cols * size].reshape(rows, size, cols, size).sum((1, 3))
    r, c = np.unravel_index(int(np.argmax(blocks)), blocks.shape)
    return int(r) * size, int(c) * size, size


def _display(pixels: np.ndarray, max_side: int = 1024) -> np.ndarray:
    from PIL import Image

    if max(pixels.shape[:2]) <= max_side:
        return pixels
    image = Image.fromarray(pixels)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return np.asarray(image)


def html_figure(name: str, original: np.ndarray, decoded: np.ndarray, zoom: int = 4) -> str:
    """Original beside decoded, and both crops of the worst 64 × 64 block magnified."""
    row, col, size = worst_block(original, decoded)
    crop = lambda p: np.repeat(np.repeat(p[row : row + size, col : col + size], zoom, 0), zoom, 1)  # noqa: E731
    where = f"×{zoom}, worst block at ({row}, {col})"
    cells = [
        ("original", "", _display(original)),
        ("decoded", "", _display(decoded)),
        (f"original, {where}", "crop", crop(original)),
        (f"decoded, {where}", "crop", crop(decoded)),
    ]
    images = "".join(
        f'<figure><img class="{k}" src="{png_data_uri(p)}">'
        f"<figcaption>{html.escape(c)}</figcaption></figure>"
        for c, k, p in cells
    )
    return f'<section><h3>{html.escape(name)}</h3><div class="row">{images}</div></section>'


def _plots(measurements: Sequence[Measurement]) -> list[str]:
    """Inline PNGs: bpp vs PSNR per image, and per-image PSNR of RGB, Y', Cb, Cr."""
    from matplotlib.figure import Figure

    finite = lambda v: v if v is not None and math.isfinite(v) else np.nan  # noqa: E731
    scatter = Figure(figsize=(6, 4))
    ax = scatter.subplots()
    ax.scatter([m.bpp for m in measurements], [finite(m.psnr_rgb) for m in measurements])
    for m in measurements:
        ax.annotate(Path(m.name).stem, (m.bpp, finite(m.psnr_rgb)), fontsize=7)
    ax.set(xlabel="bits per pixel", ylabel="RGB PSNR (dB)", title="size and quality per image")
    bars = Figure(figsize=(max(6, 0.4 * len(measurements)), 4))
    ax = bars.subplots()
    x = np.arange(len(measurements))
    for k, field in enumerate(("psnr_rgb", "psnr_y", "psnr_cb", "psnr_cr")):
        ax.bar(
            x + 0.2 * k - 0.3,
            [finite(getattr(m, field)) for m in measurements],
            0.2,
            label=field.removeprefix("psnr_"),
        )
    ax.set_xticks(x, [Path(m.name).stem for m in measurements], rotation=90, fontsize=7)
    ax.set(ylabel="PSNR (dB)", title="PSNR per image (infinite values left out)")
    ax.legend()
    return [figure_data_uri(scatter), figure_data_uri(bars)]


_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    ".row{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0}img{max-width:100%}"
    "img.crop{image-rendering:pixelated}"
)


def html_report(
    measurements: Sequence[Measurement],
    summary: dict[str, dict[str, Any]],
    failures: Sequence[Failure],
    figures: Sequence[str],
    command: str,
) -> str:
    """One self-contained page: table, plots, and the per-image figures."""
    headers = "".join(f"<th>{html.escape(label)}</th>" for _, label in TERMINAL_COLUMNS)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_cell(f, getattr(m, f)))}</td>" for f, _ in TERMINAL_COLUMNS)
        + "</tr>"
        for m in measurements
    )
    stats = "".join(
        f"<li>{html.escape(f)}: mean {number(s['mean'], 4)}, median {number(s['median'], 4)}, "
        f"min {number(s['min'], 4)}, worst {html.escape(s['worst'])}</li>"
        for f, s in summary.items()
    )
    failed = "".join(f"<li>{html.escape(f.name)}: {html.escape(f.reason)}</li>" for f in failures)
    plots = "".join(f'<img src="{uri}">' for uri in (_plots(measurements) if measurements else []))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>nmfz report</title>"
        f"<style>{_STYLE}</style></head><body><h1>nmfz report</h1>"
        f"<p><code>{html.escape(command)}</code></p><table><tr>{headers}</tr>{body}</table>"
        f"<ul>{stats}</ul>"
        + (f"<h2>Failed</h2><ul>{failed}</ul>" if failures else "")
        + f"<h2>Plots</h2><div class='row'>{plots}</div><h2>Images</h2>{''.join(figures)}"
        "</body></html>"
    )


# ---------------------------------------------------------------- the command


@dataclass(frozen=True)
class Job:
    """One image to report on: its original and where its .nmfz comes from."""

    original: Path
    nmfz: Path | None  # None: compress the original first


def _jobs(paths: Sequence[Path], compress: Path | None, nmfz_dir: Path | None) -> list[Job]:
    originals = [p for p in collect_images(paths) if p.suffix.lower() != ".nmfz"]
    jobs = [Job(p, (nmfz_dir or p.parent) / (p.stem + ".nmfz")) for p in originals]
    return jobs + [Job(p, None) for p in collect_images([compress] if compress else [])]


def _run_job(job: Job, options: dict[str, Any], scratch: Path) -> tuple[bytes, float | None]:
    """The job's .nmfz bytes (compressed into ``scratch`` when asked) and the encode time."""
    if job.nmfz is not None:
        if not job.nmfz.is_file():
            raise ValueError(f"no .nmfz file for it (looked for {job.nmfz})")
        return job.nmfz.read_bytes(), None
    from codec import encode
    from codec.image_io import load

    pixels, icc = load(job.original)
    start = time.perf_counter()
    data = encode(pixels, icc_profile=icc, **options)
    seconds = time.perf_counter() - start
    target = scratch / (job.original.stem + ".nmfz")
    target.write_bytes(data)
    return target.read_bytes(), seconds


@click.command("report")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--compress",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Compress every image of this folder (with the options below) to a "
    "temporary folder first, and report on the results.",
)
@click.option(
    "--nmfz-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Where the .nmfz files of PATHS are (default: beside each original).",
)
@encode_options()
@threads_option
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every per-image column to this CSV file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
@click.option(
    "--html",
    "html_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a self-contained report.html (table, plots, images) to this folder.",
)
@click.pass_context
def report_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    compress: Path | None,
    nmfz_dir: Path | None,
    csv_path: Path | None,
    as_json: bool,
    html_dir: Path | None,
    threads: int | None,  # applied by the option itself
    **encode_kwargs: Any,
) -> None:
    """Quality and size of .nmfz files against their originals.

    PATHS are original images or folders of them; each one's .nmfz is looked for beside it
    (same name, suffix .nmfz) or in --nmfz-dir. With --compress DIR, the images of DIR are
    compressed first with the encoder options given. Images that fail are listed with the
    reason; the exit status is 1 when any failed.
    """
    jobs = _jobs(paths, compress, nmfz_dir)
    if not jobs:
        raise click.UsageError("give original images (PATHS) or --compress DIR")
    command = command_line(ctx)
    measurements: list[Measurement] = []
    failures: list[Failure] = []
    figures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="nmfz-report-") as scratch:
        for job in progress(jobs, "report"):
            try:
                data, encode_s = _run_job(job, encode_kwargs, Path(scratch))
                result, a, b = measure(job.original.name, job.original, data, encode_s)
            except Exception as error:  # one bad image never stops the report
                failures.append(Failure(job.original.name, reason(error)))
                continue
            measurements.append(result)
            if html_dir is not None:
                figures.append(html_figure(result.name, a, b))
    summary = summarize(measurements)
    if csv_path is not None:
        write_csv(csv_path, [asdict(m) for m in measurements])
    if html_dir is not None:
        html_dir.mkdir(parents=True, exist_ok=True)
        page = html_report(measurements, summary, failures, figures, command)
        (html_dir / "report.html").write_text(page, encoding="utf-8")
    if as_json:
        click.echo(json_report(measurements, summary, failures, command))
    else:
        click.echo(text_report(measurements, summary, failures))
    if failures:
        raise click.ClickException(failure_message(failures, len(jobs)))
