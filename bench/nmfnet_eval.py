"""Evaluate NMFNet against classical inits on chroma planes (thesis §5.2, our goals).

For every Cb and Cr plane (V = chroma / 255, orientation as stored) and every init: the
relative Frobenius error at iteration 0 and after ``--iterations`` SED-MU steps, and the
init's wall time (median of ``--repeats`` single-plane calls, after a warm-up). Then the
share of planes on which each NMFNet variant is strictly better than each baseline.

    python bench/nmfnet_eval.py --data ../shared/data/kodak --out build/nmfnet-kodak.json
    python bench/nmfnet_eval.py --data ../shared/data/train --held-out   # tuning, never Kodak

An NMFNet variant is ``weights.pt[:refine_steps[:resampling]]`` (``--nmfnet``, repeatable).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from codec.color import rgb_to_ycbcr
from codec.nmf import factorize, initialize
from nmfnet import inference
from nmfnet.data import image_paths, split_paths


def planes_of(folder: Path, held_out: bool) -> list[tuple[str, torch.Tensor]]:
    paths = image_paths(folder)
    if held_out:
        paths = split_paths(paths)[1]
    out = []
    for path in paths:
        with Image.open(path) as image:
            _, cb, cr = rgb_to_ycbcr(np.asarray(image.convert("RGB")))
        out += [
            (f"{path.stem}:cb", torch.from_numpy(cb) / 255),
            (f"{path.stem}:cr", torch.from_numpy(cr) / 255),
        ]
    return out


def timed(fn, repeats: int):
    """fn()'s result and its median wall time in ms (after one warm-up call)."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return result, statistics.median(times)


def variant_init(spec: str):
    path, *rest = spec.split(":")
    model, refine = inference.load(Path(path))
    if rest:
        refine = replace(refine, steps=int(rest[0]))
    resampling = rest[1] if len(rest) > 1 else "axes"

    def init(V: torch.Tensor, rank: int):
        W, H = inference.factors(V[None], rank, model, refine, resampling)
        return W[0], H[0]

    return f"nmfnet[{Path(path).stem}:{refine.steps}:{resampling}]", init


def evaluate(
    planes, inits, rank: int, iterations: int, repeats: int
) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {
        name: {"it0": [], "end": [], "ms": []} for name in inits
    }
    for _, V in planes:
        for name, init in inits.items():
            (W, H), ms = timed(lambda init=init, V=V: init(V, rank), repeats)
            errors = factorize(V, rank, init=(W, H), iterations=iterations, algorithm="mu").errors
            for key, value in (("it0", errors[0]), ("end", errors[-1]), ("ms", ms)):
                results[name][key].append(float(value))
    return results


def summary(results, baselines: list[str]) -> list[str]:
    lines = ["| init | error it 0 | error end | init ms (median) |", "| --- | --- | --- | --- |"]
    for name, r in results.items():
        it0, end, ms = np.mean(r["it0"]), np.mean(r["end"]), np.median(r["ms"])
        lines.append(f"| {name} | {it0:.4f} | {end:.4f} | {ms:.1f} |")
    lines += [
        "",
        "| NMFNet variant | vs | strictly better it 0 | strictly better end | end ≤ | it-0 ratio |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in (n for n in results if n.startswith("nmfnet")):
        ours = {k: np.array(v) for k, v in results[name].items()}
        for base in baselines:
            theirs = {k: np.array(v) for k, v in results[base].items()}
            lines.append(
                f"| {name} | {base} | {np.mean(ours['it0'] < theirs['it0']):.0%} | "
                f"{np.mean(ours['end'] < theirs['end']):.0%} | "
                f"{np.mean(ours['end'] <= theirs['end']):.0%} | "
                f"{np.mean(ours['it0']) / np.mean(theirs['it0']):.3f} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--held-out", action="store_true", help="only the held-out split (train/)")
    parser.add_argument("--baselines", default="random,nndsvd,kmeans")
    parser.add_argument(
        "--nmfnet", action="append", default=None, help="weights[:steps[:resampling]]"
    )
    parser.add_argument("--rank", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=0, help="first N planes only")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    planes = planes_of(args.data, args.held_out)[: args.limit or None]
    baselines = [b for b in args.baselines.split(",") if b]
    inits = {b: (lambda V, r, b=b: initialize(V, r, b, seed=0)) for b in baselines}
    inits.update(variant_init(spec) for spec in args.nmfnet or [str(inference.WEIGHTS)])
    results = evaluate(planes, inits, args.rank, args.iterations, args.repeats)
    table = summary(results, baselines)
    threads = torch.get_num_threads()
    print(f"{len(planes)} planes, r={args.rank}, MU {args.iterations}, torch threads {threads}")
    print("\n".join(table))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        planes_meta = [{"name": n, "shape": list(V.shape)} for n, V in planes]
        args.out.write_text(
            json.dumps({"planes": planes_meta, "results": results, "table": table}, indent=1)
        )


if __name__ == "__main__":
    main()
