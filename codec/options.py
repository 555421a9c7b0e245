"""Click options of the encoder's knobs, shared by every command that encodes
(``nmfz compress``, ``nmfz report --compress``, ``nmfz compare``); defaults are
:func:`codec.encode`'s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from codec import planes, registry
from codec.chroma import Algorithm
from codec.encoder import DEFAULT_INIT

SOLVER_NAMES = sorted(a.solver for a in Algorithm)


def encode_options(*skip: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding the encoder's knobs, except those named in ``skip``."""
    options = {
        "rank": click.option(
            "-r",
            "--rank",
            type=click.IntRange(1, 4096),
            default=20,
            show_default=True,
            help="NMF rank per chroma plane (capped at the image's smaller side).",
        ),
        "iterations": click.option(
            "-n",
            "--iterations",
            type=click.IntRange(0, 65535),
            default=150,
            show_default=True,
            help="Refinement iterations.",
        ),
        "init": click.option(
            "--init",
            type=click.Choice(sorted(registry.INITIALIZERS)),
            default=DEFAULT_INIT,
            show_default=True,
            help="Initializer of the factorization.",
        ),
        "algorithm": click.option(
            "--algorithm",
            type=click.Choice(SOLVER_NAMES),
            default="mu",
            show_default=True,
            help="mu: Lee–Seung (Euclidean); mu-kl: KL divergence; hals.",
        ),
        "device": click.option(
            "--device",
            type=click.Choice(["auto", "cpu", "cuda"]),
            default="auto",
            show_default=True,
            help="Where to factorize; auto picks CUDA when present.",
        ),
        "seed": click.option(
            "--seed",
            type=click.IntRange(0),
            default=0,
            show_default=True,
            help="Seed of the random initializers; a given seed always gives the same file.",
        ),
        "tol": click.option(
            "--tol",
            type=click.FloatRange(0),
            default=0.0,
            show_default=True,
            help="Stop early once an iteration improves the error by less than this fraction.",
        ),
        "luma": click.option(
            "--luma",
            type=click.Choice(sorted([*planes.CODERS, planes.AUTO])),
            default=planes.AUTO,
            show_default=True,
            help="Lossless coder for luma and alpha; auto: JPEG-LS, or PNG when smaller for planes "
            "of at most 16 levels.",
        ),
        "bits": click.option(
            "--bits",
            type=click.IntRange(1, 16),
            default=8,
            show_default=True,
            help="Quantization bits per factor entry.",
        ),
    }

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for name, option in reversed(options.items()):
            command = command if name in skip else option(command)
        return command

    return decorate
