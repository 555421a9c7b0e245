"""Codec benchmark: quality, size and speed on a folder of images, side by side with
scikit-learn's NMF on the same chroma planes.

    python bench/run.py [--images DIR] [--limit N] [--device cpu|cuda|auto] [--threads N]

Default images: ../shared/data/kodak when it exists beside the project, else samples/.
Prints one row per image and a summary with the ratios the project tracks:
encode time ÷ scikit-learn ``NMF(solver="mu", max_iter=150, init="nndsvda")`` on the same
two planes (goal ≤ 3), decode time (goal ≤ 50 ms per Kodak image on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import codec
from codec import image_io
from codec.color import rgb_to_ycbcr
from codec.metrics import psnr, ssim

ROOT = Path(__file__).resolve().parent.parent
KODAK = ROOT.parent / "shared" / "data" / "kodak"


def _timed(fn, repeat: int = 1):
    """(result, best wall time of ``repeat`` runs)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def _sklearn_chroma(rgb: np.ndarray) -> float:
    """Seconds scikit-learn's MU NMF takes on the two chroma planes, as the codec sees them."""
    _, cb, cr = rgb_to_ycbcr(rgb)
    start = time.perf_counter()
    for plane in (cb, cr):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            NMF(20, solver="mu", max_iter=150, init="nndsvda").fit_transform(
                plane / np.float32(255)
            )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--images", type=Path, default=KODAK if KODAK.is_dir() else ROOT / "samples"
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N images")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="limit torch and numpy's BLAS to N threads (0: their default)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() == ".png")
    files = files[: args.limit] if args.limit else files
    codec.encode(np.zeros((8, 8, 3), np.uint8), device=args.device)  # warm up imports

    print(
        f"images: {args.images} ({len(files)}), device {args.device}, "
        f"torch threads {torch.get_num_threads()}\n"
    )
    header = (
        f"{'image':<28}{'size':>10}{'bpp':>7}{'luma':>7}{'chroma':>7}{'PSNR':>7}"
        f"{'SSIM':>7}{'enc s':>7}{'skl s':>7}{'ratio':>7}{'dec ms':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for path in files:
        rgb, _ = image_io.load(path)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            continue
        data, encode_s = _timed(lambda rgb=rgb: codec.encode(rgb, device=args.device))
        decoded, decode_s = _timed(lambda data=data: codec.decode(data), repeat=3)
        sklearn_s = _sklearn_chroma(rgb)
        pixels = rgb.shape[0] * rgb.shape[1]
        sizes = {s["kind"]: s["bytes"] for s in codec.inspect(data)["sections"]}
        row = {
            "bpp": 8 * len(data) / pixels,
            "luma": 8 * sizes["luma"] / pixels,
            "chroma": 8 * sizes["chroma"] / pixels,
            "psnr": psnr(rgb, decoded),
            "ssim": ssim(rgb, decoded),
            "encode": encode_s,
            "sklearn": sklearn_s,
            "ratio": encode_s / sklearn_s,
            "decode": decode_s * 1000,
        }
        rows.append(row)
        print(
            f"{path.name:<28}{f'{rgb.shape[1]}x{rgb.shape[0]}':>10}{row['bpp']:7.3f}"
            f"{row['luma']:7.3f}{row['chroma']:7.3f}{row['psnr']:7.2f}{row['ssim']:7.4f}"
            f"{encode_s:7.2f}{sklearn_s:7.2f}{row['ratio']:7.2f}{row['decode']:8.1f}"
        )
    if not rows:
        return
    mean = {k: statistics.fmean(r[k] for r in rows) for k in rows[0]}
    print("-" * len(header))
    print(
        f"{'mean':<38}{mean['bpp']:7.3f}{mean['luma']:7.3f}{mean['chroma']:7.3f}"
        f"{mean['psnr']:7.2f}{mean['ssim']:7.4f}{mean['encode']:7.2f}{mean['sklearn']:7.2f}"
        f"{mean['ratio']:7.2f}{mean['decode']:8.1f}"
    )
    print(
        f"\nencode / scikit-learn MU: mean {mean['ratio']:.2f}×, worst "
        f"{max(r['ratio'] for r in rows):.2f}× (goal ≤ 3×)"
    )
    print(
        f"decode: mean {mean['decode']:.1f} ms, worst {max(r['decode'] for r in rows):.1f} ms "
        "(goal ≤ 50 ms per Kodak image)"
    )
    print(
        f"quality: mean RGB PSNR {mean['psnr']:.2f} dB (goal ≥ 36.5), SSIM {mean['ssim']:.4f} "
        f"(goal ≥ 0.975), {mean['bpp']:.3f} bpp (goal ≤ 4.75)"
    )


if __name__ == "__main__":
    main()
