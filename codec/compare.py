"""``nmfz compare``: rate–distortion of nmfz against standard codecs and a trivial baseline.

Every codec setting is a pure pair encode(rgb) -> bytes, decode(bytes) -> rgb; a curve
(family) is the settings of one codec along its rate knob. Quality is RGB PSNR and SSIM
(scikit-image) of the decoded image; rate is bits per pixel of the whole stream. The
baseline is what NMF chroma has to beat: Y' lossless (JPEG-LS, as nmfz stores it) and each
chroma plane box-downsampled ×f per axis, rounded to 8 bits, stored losslessly (JPEG-LS) and
upsampled back bilinearly.
"""

from __future__ import annotations

import io
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import click
import numpy as np

from codec.options import encode_options
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


class NumberList(click.ParamType):
    """A comma-separated list of numbers: ``5,10,20``."""

    name = "list"

    def __init__(self, kind: type = int):
        self.kind = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, tuple):
            return value
        try:
            items = tuple(self.kind(v) for v in str(value).split(",") if v.strip())
        except ValueError:
            self.fail(
                f"{value!r} is not a comma-separated list of {self.kind.__name__}s", param, ctx
            )
        if not items or min(items) <= 0:
            self.fail(f"{value!r}: give at least one number, all positive", param, ctx)
        return items


@dataclass(frozen=True)
class Setting:
    """One point of one codec's curve."""

    family: str
    knob: str  # e.g. "q=90", "r=20"
    encode: Callable[[np.ndarray], bytes]
    decode: Callable[[bytes], np.ndarray]
    lossless: bool = False
    luma_bytes: Callable[[bytes], int] | None = None  # the lossless Y' stream's share, if any


# ---------------------------------------------------------------- codecs


def _pillow_encode(rgb: np.ndarray, fmt: str, **options: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


def _pillow_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _jxl_encode(rgb: np.ndarray, distance: float) -> bytes:
    import imagecodecs

    return bytes(imagecodecs.jpegxl_encode(rgb, distance=distance, effort=5))


def _jxl_decode(data: bytes) -> np.ndarray:
    import imagecodecs

    return np.asarray(imagecodecs.jpegxl_decode(data))


def _nmfz_encode(rgb: np.ndarray, **options: Any) -> bytes:
    from codec import encode

    return encode(rgb, **options)


def _nmfz_decode(data: bytes) -> np.ndarray:
    from codec import decode

    return decode(data)


def _nmfz_luma_bytes(data: bytes) -> int:
    from codec import inspect

    return sum(s["bytes"] for s in inspect(data)["sections"] if s["kind"] == "luma")


def downsample(plane: np.ndarray, factor: int) -> np.ndarray:
    """Box average over factor × factor blocks (edges replicated to a whole block)."""
    n, m = plane.shape
    padded = np.pad(plane, ((0, -n % factor), (0, -m % factor)), mode="edge")
    rows, cols = padded.shape[0] // factor, padded.shape[1] // factor
    return padded.reshape(rows, factor, cols, factor).mean((1, 3))


def upsample(plane: np.ndarray, shape: tuple[int, int], factor: int) -> np.ndarray:
    """Bilinear interpolation back to the padded grid, cropped to ``shape``."""
    from PIL import Image

    small = Image.fromarray(plane.astype(np.float32), "F")
    size = (plane.shape[1] * factor, plane.shape[0] * factor)
    big = small.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(big)[: shape[0], : shape[1]]


_LENGTHS = struct.Struct(">II")


def subsample_encode(rgb: np.ndarray, factor: int) -> bytes:
    """Lossless Y' + chroma downsampled ×factor and stored losslessly: three JPEG-LS streams
    after the lengths of the first two (8 bytes)."""
    import imagecodecs

    from codec.color import rgb_to_ycbcr

    y, cb, cr = rgb_to_ycbcr(rgb)
    chroma = [np.clip(np.rint(downsample(p, factor)), 0, 255).astype(np.uint8) for p in (cb, cr)]
    # charls needs an output buffer; noise can exceed the raw size, so leave room.
    streams = [bytes(imagecodecs.jpegls_encode(p, out=2 * p.size + 1024)) for p in (y, *chroma)]
    return _LENGTHS.pack(len(streams[0]), len(streams[1])) + b"".join(streams)


def _subsample_luma_bytes(data: bytes) -> int:
    return _LENGTHS.unpack_from(data)[0]


def subsample_decode(data: bytes, factor: int) -> np.ndarray:
    import imagecodecs

    from codec.color import ycbcr_to_rgb

    luma_len, cb_len = _LENGTHS.unpack_from(data)
    at = np.cumsum([_LENGTHS.size, luma_len, cb_len])
    y, cb, cr = (
        np.asarray(imagecodecs.jpegls_decode(part))
        for part in (data[at[0] : at[1]], data[at[1] : at[2]], data[at[2] :])
    )
    shape = y.shape
    return ycbcr_to_rgb(y, upsample(cb, shape, factor), upsample(cr, shape, factor))


def available_families() -> dict[str, bool]:
    """Which optional codecs this installation has (AVIF via Pillow, JPEG XL via imagecodecs)."""
    import imagecodecs
    from PIL import features

    return {"avif": bool(features.check("avif")), "jxl": bool(imagecodecs.JPEGXL.available)}


def settings(
    *,
    ranks: Sequence[int],
    bits: Sequence[int],
    nmfz: dict[str, Any],
    jpeg: Sequence[int],
    webp: Sequence[int],
    avif: Sequence[int],
    jxl: Sequence[float],
    factors: Sequence[int],
) -> list[Setting]:
    """Every codec setting to run, grouped by family (curve)."""
    have = available_families()
    out = [
        Setting(
            f"nmfz {b}-bit",
            f"r={r}",
            partial(_nmfz_encode, rank=r, bits=b, **nmfz),
            _nmfz_decode,
            luma_bytes=_nmfz_luma_bytes,
        )
        for b in bits
        for r in ranks
    ]
    out += [
        Setting(
            "subsample",
            f"{f}x",
            partial(subsample_encode, factor=f),
            partial(subsample_decode, factor=f),
            luma_bytes=_subsample_luma_bytes,
        )
        for f in factors
    ]
    for label, subsampling in (("JPEG 4:2:0", 2), ("JPEG 4:4:4", 0)):
        out += [
            Setting(
                label,
                f"q={q}",
                partial(_pillow_encode, fmt="JPEG", quality=q, subsampling=subsampling),
                _pillow_decode,
            )
            for q in jpeg
        ]
    out += [
        Setting(
            "WebP",
            f"q={q}",
            partial(_pillow_encode, fmt="WEBP", quality=q, method=4),
            _pillow_decode,
        )
        for q in webp
    ]
    if have["avif"]:
        out += [
            Setting(
                "AVIF 4:4:4",
                f"q={q}",
                partial(_pillow_encode, fmt="AVIF", quality=q, subsampling="4:4:4", speed=6),
                _pillow_decode,
            )
            for q in avif
        ]
    if have["jxl"]:
        out += [
            Setting("JPEG XL", f"d={d}", partial(_jxl_encode, distance=d), _jxl_decode) for d in jxl
        ]
    out += [
        Setting("PNG", "lossless", partial(_pillow_encode, fmt="PNG"), _pillow_decode, True),
        Setting(
            "WebP lossless",
            "lossless",
            partial(_pillow_encode, fmt="WEBP", lossless=True),
            _pillow_decode,
            True,
        ),
    ]
    return out


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Point:
    """One image at one setting."""

    image: str
    family: str
    knob: str
    bytes: int
    bpp: float
    psnr: float
    ssim: float
    encode_s: float
    decode_s: float
    chroma_bpp: float | None  # bits of everything but the lossless Y' stream, per pixel


def measure(name: str, rgb: np.ndarray, setting: Setting) -> Point:
    """Encode, decode and compare one image at one setting."""
    from codec.metrics import psnr, ssim

    start = time.perf_counter()
    data = setting.encode(rgb)
    encoded = time.perf_counter()
    decoded = setting.decode(data)
    decode_s = time.perf_counter() - encoded
    if decoded.shape != rgb.shape:
        raise ValueError(f"{setting.family} decoded {decoded.shape}, expected {rgb.shape}")
    pixels = rgb.shape[0] * rgb.shape[1]
    chroma = None if setting.luma_bytes is None else len(data) - setting.luma_bytes(data)
    return Point(
        name,
        setting.family,
        setting.knob,
        len(data),
        8 * len(data) / pixels,
        psnr(rgb, decoded),
        ssim(rgb, decoded),
        encoded - start,
        decode_s,
        None if chroma is None else 8 * chroma / pixels,
    )


@dataclass(frozen=True)
class CurvePoint:
    """A setting's mean over the images."""

    family: str
    knob: str
    bpp: float
    psnr: float
    ssim: float
    encode_s: float
    lossless: bool
    chroma_bpp: float | None


def curves(points: Sequence[Point], plan: Sequence[Setting]) -> list[CurvePoint]:
    """Per setting (in plan order), the mean bpp, PSNR, SSIM and encode time over images."""
    out = []
    for s in plan:
        mine = [p for p in points if p.family == s.family and p.knob == s.knob]
        if mine:
            means = {
                f: float(np.mean([getattr(p, f) for p in mine]))
                for f in ("bpp", "psnr", "ssim", "encode_s")
            }
            chroma = [p.chroma_bpp for p in mine if p.chroma_bpp is not None]
            mean_chroma = float(np.mean(chroma)) if len(chroma) == len(mine) else None
            out.append(
                CurvePoint(s.family, s.knob, lossless=s.lossless, chroma_bpp=mean_chroma, **means)
            )
    return out


def families(curve: Sequence[CurvePoint]) -> dict[str, list[CurvePoint]]:
    """The lossy curves by family name, in order."""
    grouped: dict[str, list[CurvePoint]] = {}
    for c in curve:
        if not c.lossless:
            grouped.setdefault(c.family, []).append(c)
    return grouped


def _signed(value: float | None, unit: str) -> str:
    return "no overlap" if value is None else f"{value:+.1f}{unit}"


def bd_cells(
    anchor: Sequence[CurvePoint], test: Sequence[CurvePoint], rate: str = "bpp"
) -> list[str]:
    """BD-rate on PSNR, BD-PSNR and BD-rate on SSIM of ``test`` against ``anchor``, with
    ``rate`` (``"bpp"`` or ``"chroma_bpp"``) as the rate."""
    from codec.bdrate import bd_quality, bd_rate

    def curve_args(metric: str) -> tuple[list[float], ...]:
        return (
            [getattr(c, rate) for c in anchor],
            [getattr(c, metric) for c in anchor],
            [getattr(c, rate) for c in test],
            [getattr(c, metric) for c in test],
        )

    return [
        _signed(bd_rate(*curve_args("psnr")), " %"),
        _signed(bd_quality(*curve_args("psnr")), " dB"),
        _signed(bd_rate(*curve_args("ssim")), " %"),
    ]


def bd_rows(curve: Sequence[CurvePoint], rate: str = "bpp") -> list[list[str]]:
    """BD cells of every nmfz curve against every other lossy curve that has ``rate``."""
    grouped = {f: c for f, c in families(curve).items() if getattr(c[0], rate) is not None}
    return [
        [ours, peer, *bd_cells(theirs, mine, rate)]
        for ours, mine in grouped.items()
        if ours.startswith("nmfz")
        for peer, theirs in grouped.items()
        if peer != ours
    ]


# ---------------------------------------------------------------- outputs


def plot(curve: Sequence[CurvePoint], metric: str, path: Path, title: str) -> None:
    """Mean bpp vs mean ``metric`` of every lossy family, one line each."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5))
    ax = fig.subplots()
    for family, points in families(curve).items():
        style = "-o" if family.startswith("nmfz") else ("--s" if family == "subsample" else "-.")
        ax.plot(
            [p.bpp for p in points],
            [getattr(p, metric) for p in points],
            style,
            label=family,
            markersize=4,
        )
    ax.set(
        xlabel="bits per pixel (mean over images)",
        ylabel=f"RGB {metric.upper()} (mean over images)",
        title=title,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def curve_table(curve: Sequence[CurvePoint]) -> str:
    rows = [
        [
            c.family,
            c.knob,
            number(c.bpp, 3),
            number(c.chroma_bpp, 3),
            number(c.psnr, 2),
            number(c.ssim, 4),
            number(c.encode_s, 3),
        ]
        for c in curve
    ]
    return table(["codec", "setting", "bpp", "chroma bpp", "PSNR dB", "SSIM", "encode s"], rows)


BD_HEADERS = ["nmfz", "vs", "BD-rate (PSNR)", "BD-PSNR", "BD-rate (SSIM)"]


def markdown(
    curve: Sequence[CurvePoint],
    *,
    command: str,
    names: Sequence[str],
    failures: Sequence[Failure],
    wall_s: float,
    options: dict[str, Any],
) -> str:
    import imagecodecs
    import PIL

    from codec import __version__

    missing = [name for name, there in available_families().items() if not there]
    return "\n".join(
        [
            "# nmfz compare",
            "",
            f"Command: `{command}`",
            "",
            f"nmfz {__version__}, Pillow {PIL.__version__}, imagecodecs {imagecodecs.__version__}; "
            f"{len(names)} images; wall time {wall_s:.0f} s. nmfz options: "
            + ", ".join(f"{k}={v}" for k, v in options.items())
            + (f". Not installed here, so left out: {', '.join(missing)}" if missing else ""),
            "",
            "Means over the images of each setting (bpp of the whole file; RGB PSNR, SSIM).",
            "subsample = lossless Y' (JPEG-LS) + Cb, Cr box-downsampled ×f per axis, rounded to "
            "8 bits, JPEG-LS, bilinear upsampling. chroma bpp: the bits of all but the lossless "
            "Y' stream, for the codecs that keep one.",
            "",
            curve_table(curve),
            "",
            "## Bjøntegaard deltas of nmfz against each peer (on the mean curves)",
            "",
            "BD-rate: extra bits nmfz needs for equal quality (+ = nmfz worse); BD-PSNR: dB nmfz "
            "gains at equal rate (− = nmfz worse). Only where the curves overlap.",
            "",
            table(BD_HEADERS, bd_rows(curve)),
            "",
            "## The same at equal chroma bits (the rate without the common lossless Y' stream)",
            "",
            table(BD_HEADERS, bd_rows(curve, "chroma_bpp")),
            "",
            "Plots: `rd_psnr.png`, `rd_ssim.png`; every image and setting: `points.csv`.",
            "",
            *(
                ["## Failed", ""] + [f"- {f.name}: {f.reason}" for f in failures]
                if failures
                else []
            ),
        ]
    )


# ---------------------------------------------------------------- the command


@click.command("compare")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for results.md, points.csv, curves.csv and the plots.",
)
@click.option(
    "--ranks", type=NumberList(int), default="5,10,20,40,80", show_default=True, help="nmfz ranks."
)
@click.option(
    "--bits",
    "bits_list",
    type=NumberList(int),
    default="6,8",
    show_default=True,
    help="nmfz factor bits (one curve each).",
)
@encode_options("rank", "bits")
@click.option(
    "--jpeg",
    type=NumberList(int),
    default="50,55,60,65,70,75,80,85,90,95,100",
    show_default=True,
    help="JPEG qualities (Pillow; 4:2:0 and 4:4:4 each).",
)
@click.option(
    "--webp",
    type=NumberList(int),
    default="50,60,70,80,90,95,100",
    show_default=True,
    help="WebP lossy qualities.",
)
@click.option(
    "--avif",
    type=NumberList(int),
    default="50,60,70,80,90,95,100",
    show_default=True,
    help="AVIF qualities (4:4:4, speed 6), when Pillow has AVIF.",
)
@click.option(
    "--jxl",
    type=NumberList(float),
    default="0.1,0.2,0.3,0.5,0.75,1,1.5,2,3",
    show_default=True,
    help="JPEG XL distances (effort 5), when imagecodecs has it.",
)
@click.option(
    "--subsample",
    type=NumberList(int),
    default="2,3,4,6,8",
    show_default=True,
    help="Chroma downsampling factors of the baseline.",
)
@threads_option
@click.pass_context
def compare_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    out: Path,
    ranks: tuple[int, ...],
    bits_list: tuple[int, ...],
    jpeg: tuple[int, ...],
    webp: tuple[int, ...],
    avif: tuple[int, ...],
    jxl: tuple[float, ...],
    subsample: tuple[int, ...],
    threads: int | None,  # applied by the option itself
    **nmfz: Any,
) -> None:
    """Rate–distortion of nmfz (several ranks and bits) against JPEG, WebP, AVIF, JPEG XL,
    PNG and plain chroma subsampling, with BD-rates."""
    from codec.image_io import load

    command, began = command_line(ctx), time.perf_counter()
    plan = settings(
        ranks=ranks,
        bits=bits_list,
        nmfz=nmfz,
        jpeg=jpeg,
        webp=webp,
        avif=avif,
        jxl=jxl,
        factors=subsample,
    )
    points: list[Point] = []
    names: list[str] = []
    failures: list[Failure] = []
    images = collect_images(paths)
    for path in progress(images, "compare"):
        try:
            pixels, _ = load(path)
            if pixels.ndim != 3 or pixels.shape[2] != 3:
                raise ValueError("not an RGB image (compare measures RGB codecs)")
        except ValueError as error:
            failures.append(Failure(path.name, str(error)))
            continue
        names.append(path.name)
        for setting in plan:
            try:
                points.append(measure(path.name, pixels, setting))
            except Exception as error:  # each codec library raises its own classes
                failures.append(
                    Failure(f"{path.name} {setting.family} {setting.knob}", reason(error))
                )
    if not points:
        raise click.ClickException(failure_message(failures, len(images)))
    out.mkdir(parents=True, exist_ok=True)
    curve = curves(points, plan)
    write_csv(out / "points.csv", [vars(p) for p in points])
    write_csv(out / "curves.csv", [vars(c) for c in curve])
    count = f"mean of {len(names)} images"
    plot(curve, "psnr", out / "rd_psnr.png", f"rate vs RGB PSNR ({count})")
    plot(curve, "ssim", out / "rd_ssim.png", f"rate vs RGB SSIM ({count})")
    text = markdown(
        curve,
        command=command,
        names=names,
        failures=failures,
        wall_s=time.perf_counter() - began,
        options=nmfz,
    )
    (out / "results.md").write_text(text, encoding="utf-8")
    click.echo(text)
    if failures:
        raise click.ClickException(failure_message(failures, len(images)))
