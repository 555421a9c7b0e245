"""The ``nmfz`` command line: compress, decompress, info, and the commands that other
packages declare in the ``nmfz.commands`` entry-point group (training, reports, …).

Exit codes: 0 all inputs done, 1 some inputs failed (each named with its reason), 2 usage
error, 130 interrupted. Messages and progress go to stderr; ``--json`` output to stdout.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

from codec import __version__, batch, image_io
from codec.container import MAX_PIXELS
from codec.options import encode_options

# OpenMP threads that spin while waiting make torch 5-20x slower whenever another process
# competes for the cores (measured: 9.0 s vs 1.9 s per image on a loaded 2-core machine);
# passive waiting costs about 25% on an idle one. Set before torch loads; the user's
# own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _json_number(value: float) -> float | None:
    """JSON has no infinity or NaN: identical images (PSNR = ∞) are written as null."""
    return value if math.isfinite(value) else None


def compress_file(job: batch.Job, options: dict[str, Any]) -> dict[str, Any]:
    """Worker: read an image, encode it, write the .nmfz; numbers for the summary."""
    from tqdm import tqdm

    from codec.encoder import decode, encode
    from codec.metrics import psnr, ssim

    pixels, icc = image_io.load(job.source)
    start = time.perf_counter()
    iterations = options["encode"]["iterations"]
    show = options.get("progress", False)
    with tqdm(total=iterations, disable=not show, unit="it", file=sys.stderr, leave=False) as bar:
        data = encode(
            pixels, icc_profile=icc, progress=lambda done, total: bar.update(), **options["encode"]
        )
    seconds = time.perf_counter() - start
    batch.atomic_write(job.target, data, overwrite=options["overwrite"])
    height, width = pixels.shape[:2]
    details: dict[str, Any] = {
        "width": width,
        "height": height,
        "bytes_in": job.source.stat().st_size,
        "bytes_out": len(data),
        "bpp": 8 * len(data) / (width * height),
        "encode_s": seconds,
    }
    if options["verify"]:
        decoded = decode(data)
        details["psnr"] = _json_number(psnr(pixels, decoded))
        details["ssim"] = _json_number(ssim(pixels, decoded))
    return details


def decompress_file(job: batch.Job, options: dict[str, Any]) -> dict[str, Any]:
    """Worker: read a .nmfz, decode it, write a lossless image file."""
    from codec.encoder import decode_with_profile

    data = job.source.read_bytes()
    start = time.perf_counter()
    pixels, icc = decode_with_profile(data, max_pixels=options["max_pixels"])
    seconds = time.perf_counter() - start
    batch.atomic_write(
        job.target, image_io.render(pixels, job.target.suffix, icc), overwrite=options["overwrite"]
    )
    height, width = pixels.shape[:2]
    return {
        "width": width,
        "height": height,
        "bytes_in": len(data),
        "bytes_out": job.target.stat().st_size,
        "decode_s": seconds,
    }


def _interactive(quiet: bool, as_json: bool) -> bool:
    """Progress bars only on a terminal at default verbosity."""
    return sys.stderr.isatty() and not quiet and not as_json


def _describe(outcome: batch.Outcome) -> str:
    d = outcome.details
    line = f"{outcome.source} → {outcome.target}: {d['bytes_in']:,} → {d['bytes_out']:,} bytes"
    if "bpp" in d:
        line += f", {d['bpp']:.3f} bpp"
    if "psnr" in d:
        psnr = "∞" if d["psnr"] is None else f"{d['psnr']:.2f}"
        line += f", PSNR {psnr} dB, SSIM {d['ssim'] if d['ssim'] is None else round(d['ssim'], 4)}"
    return line + f" ({outcome.seconds:.2f} s)"


def _convert(
    inputs: tuple[Path, ...],
    output: Path | None,
    *,
    compress: bool,
    suffix: str,
    worker: Callable[[batch.Job, dict[str, Any]], dict[str, Any]],
    options: dict[str, Any],
    workers: int,
    quiet: bool,
    as_json: bool,
) -> None:
    """Plan, run and report a batch; exit 1 (ClickException) if any input failed."""
    try:
        work = batch.plan(
            inputs, output, compress=compress, suffix=suffix, overwrite=options["overwrite"]
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    say = (lambda message: None) if quiet or as_json else (lambda m: click.echo(m, err=True))
    for path, why in work.skipped:
        say(f"note: skipped {path} ({why})")
    records: list[dict[str, Any]] = [
        {"input": str(p), "output": None, "ok": False, "error": why} for p, why in work.failed
    ]
    for path, why in work.failed:
        click.echo(f"error: {path}: {why}", err=True)
    show_bar = len(work.jobs) > 1 and _interactive(quiet, as_json)
    start = time.perf_counter()
    from tqdm import tqdm

    with tqdm(total=len(work.jobs), disable=not show_bar, unit="file", file=sys.stderr) as bar:
        for outcome in batch.run(work.jobs, worker, options, workers=workers):
            bar.update()
            for message in outcome.warnings:
                (bar.write if show_bar else say)(f"warning: {outcome.source}: {message}")
            if outcome.ok:
                (bar.write if show_bar else say)(_describe(outcome))
            else:
                click.echo(f"error: {outcome.source}: {outcome.error}", err=True)
            records.append(
                {
                    "input": str(outcome.source),
                    "output": str(outcome.target) if outcome.ok else None,
                    "ok": outcome.ok,
                    "error": outcome.error,
                    "warnings": outcome.warnings,
                    "seconds": outcome.seconds,
                    **outcome.details,
                }
            )
    failed = sum(not r["ok"] for r in records)
    if as_json:
        summary = {
            "files": len(records),
            "ok": len(records) - failed,
            "failed": failed,
            "skipped": len(work.skipped),
            "seconds": time.perf_counter() - start,
            "bytes_in": sum(r.get("bytes_in", 0) for r in records if r["ok"]),
            "bytes_out": sum(r.get("bytes_out", 0) for r in records if r["ok"]),
        }
        click.echo(json.dumps({"files": records, "summary": summary}, indent=2))
    if not records:
        raise click.ClickException("no input to convert")
    if failed:
        raise click.ClickException(f"{failed} of {len(records)} inputs failed")


def _batch_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by compress and decompress."""
    for option in reversed(
        [
            click.argument(
                "inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
            ),
            click.option(
                "-o",
                "--output",
                type=click.Path(path_type=Path),
                help="Output file (one input) or folder (several inputs or a folder).",
            ),
            click.option("--overwrite", is_flag=True, help="Replace existing output files."),
            click.option(
                "-j",
                "--workers",
                type=click.IntRange(1, 64),
                default=1,
                show_default=True,
                help="Worker processes for several files.",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Print only errors."),
            click.option("--json", "as_json", is_flag=True, help="Print a JSON summary to stdout."),
            click.option(
                "--debug", is_flag=True, help="Show tracebacks instead of one-line errors."
            ),
        ]
    ):
        command = option(command)
    return command


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="nmfz")
def cli() -> None:
    """nmfz: image compression by non-negative matrix factorization.

    Luma is stored losslessly; the two chroma planes are stored as NMF factors W·H.
    """


@cli.command()
@_batch_options
@encode_options()
@click.option("--verify", is_flag=True, help="Decode each result and report PSNR and SSIM.")
def compress(
    inputs: tuple[Path, ...],
    output: Path | None,
    overwrite: bool,
    workers: int,
    quiet: bool,
    as_json: bool,
    debug: bool,
    verify: bool,
    **encode: Any,
) -> None:
    """Compress images (files or folders, recursively) to .nmfz.

    x.png becomes x.nmfz beside it unless -o says otherwise. Existing files are never
    replaced without --overwrite.
    """
    if encode["device"] == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise click.BadParameter("CUDA is not available on this machine", param_hint="--device")
    options = {"encode": encode, "overwrite": overwrite, "verify": verify, "debug": debug}
    # iterations of a lone file on a terminal (several files get a bar over the files)
    options["progress"] = len(inputs) == 1 and inputs[0].is_file() and _interactive(quiet, as_json)
    _convert(
        inputs,
        output,
        compress=True,
        suffix=batch.NMFZ_SUFFIX,
        worker=compress_file,
        options=options,
        workers=workers,
        quiet=quiet,
        as_json=as_json,
    )


@cli.command()
@_batch_options
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(sorted(s[1:] for s in image_io.LOSSLESS_FORMATS)),
    default="png",
    show_default=True,
    help="Output format when -o is not a file name (a file name's extension decides).",
)
@click.option(
    "--max-pixels",
    type=click.IntRange(1),
    default=MAX_PIXELS,
    show_default=True,
    help="Refuse images with more pixels than this (decompression-bomb guard).",
)
def decompress(
    inputs: tuple[Path, ...],
    output: Path | None,
    overwrite: bool,
    workers: int,
    quiet: bool,
    as_json: bool,
    debug: bool,
    fmt: str,
    max_pixels: int,
) -> None:
    """Decompress .nmfz files (or folders of them) to lossless images.

    x.nmfz becomes x.png beside it unless -o or --format says otherwise.
    """
    named_file = len(inputs) == 1 and inputs[0].is_file() and output and not output.is_dir()
    if named_file and output is not None and output.suffix.lower() not in image_io.LOSSLESS_FORMATS:
        raise click.BadParameter(
            f"{output.name}: lossless output formats are "
            + ", ".join(sorted(image_io.LOSSLESS_FORMATS)),
            param_hint="-o",
        )
    options = {"overwrite": overwrite, "max_pixels": max_pixels, "debug": debug}
    _convert(
        inputs,
        output,
        compress=False,
        suffix=f".{fmt}",
        worker=decompress_file,
        options=options,
        workers=workers,
        quiet=quiet,
        as_json=as_json,
    )


@cli.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(files: tuple[Path, ...], as_json: bool) -> None:
    """Show the header of .nmfz files: size, mode, rank, coders, sections."""
    from codec.encoder import inspect
    from codec.errors import FormatError

    reports: list[dict[str, Any]] = []
    failed = 0
    for path in files:
        try:
            reports.append({"file": str(path), **inspect(path.read_bytes())})
        except (FormatError, OSError) as error:
            failed += 1
            click.echo(f"error: {path}: {error}", err=True)
    if as_json:
        single = reports[0] if reports else None
        click.echo(json.dumps(reports if len(files) > 1 else single, indent=2))
    else:
        for report in reports:
            click.echo(
                f"{report['file']}: {report['width']}x{report['height']} {report['mode']}, "
                f"{report['bytes']:,} bytes, {report['bpp']:.3f} bpp"
            )
            for section in report["sections"]:
                coder = f" ({section['coder']})" if section["coder"] else ""
                click.echo(f"  {section['kind']}{coder}: {section['bytes']:,} bytes")
            if "chroma" in report:
                c = report["chroma"]
                click.echo(
                    f"  chroma: {c['layout']}, rank {c['rank']} (planes {c['plane_ranks']}), "
                    f"init {c['init']}, {c['algorithm']} × {c['iterations']}, {c['bits']} bits"
                )
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} files could not be read")


for _entry in entry_points(group="nmfz.commands"):
    cli.add_command(_entry.load(), _entry.name)


def main() -> None:
    """Console entry point: click's handling, with a short message on Ctrl-C."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("nmfz: interrupted (no partial output was left)", err=True)
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)
