"""The registry of NMF initializers: names, permanent on-disk ids, and where the code lives.

Targets are ``"module:function"`` strings imported on first use, so that listing the choices
(the CLI's ``--init``) or naming an id read from a file costs no torch import. Every
function takes V (B, n, m), a rank r ≤ min(n, m) and a seeded CPU ``torch.Generator``, and
returns non-negative W (B, n, r) and H (B, r, m). Never renumber a code.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Initializer:
    name: str
    code: int
    target: str
    summary: str

    def load(self) -> Callable[..., Any]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


INITIALIZERS: dict[str, Initializer] = {}


def register(name: str, code: int, target: str, summary: str) -> None:
    """Add an initializer under a new name and a new permanent ``code``."""
    if name in INITIALIZERS or code in {i.code for i in INITIALIZERS.values()}:
        raise ValueError(f"initializer {name!r} or code {code} is registered already")
    INITIALIZERS[name] = Initializer(name, code, target, summary)


def get(name: str) -> Initializer:
    if name not in INITIALIZERS:
        raise ValueError(f"init must be one of {sorted(INITIALIZERS)}, got {name!r}")
    return INITIALIZERS[name]


def name_of(code: int) -> str:
    """The name for an on-disk id; ids unknown here (a newer writer's) read ``unknown-<id>``."""
    return next((i.name for i in INITIALIZERS.values() if i.code == code), f"unknown-{code}")


register("random", 1, "codec.inits:random", "|N(0,1)| scaled to V's mean")
register("random-vcol", 2, "codec.inits:random_vcol", "means of random columns/rows of V")
register("nndsvd", 3, "codec.inits:nndsvd", "non-negative double SVD, exact zeros")
register("nndsvda", 4, "codec.inits:nndsvda", "NNDSVD, zeros filled with mean(V)")
register("nndsvdar", 5, "codec.inits:nndsvdar", "NNDSVD, zeros filled with small randoms")
register("kmeans", 6, "codec.inits:kmeans", "k-means centroids of V's columns, NNLS for H")
register("kmeans-rows", 9, "codec.inits:kmeans_rows", "k-means centroids of V's rows, NNLS for W")
register("svd", 7, "codec.inits:svd", "truncated SVD with negatives set to 0")
if importlib.util.find_spec("nmfnet.inference") is not None:
    register("nmfnet", 8, "nmfnet.inference:initialize", "NMFNet neural initializer")
