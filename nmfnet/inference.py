"""``init="nmfnet"``: the shipped NMFNet as an initializer for planes of any size.

Any size: WNet reads rows of V resampled to the model's row length (``cols``), so it yields
one row of W per row of V at full resolution; HNet likewise reads V's columns resampled to
``rows``. (The alternative, resampling the whole plane to rows × cols and interpolating W's
rows and H's columns back, is kept as ``resampling="plane"`` for the benchmark.) Ranks below
the model's keep its strongest components (by ‖W_k‖·‖H_k‖); the predicted factors are
turned into starting factors as the weights were trained for (:mod:`nmfnet.refine`: the
network's own, projected or clustered), then given ``refine.steps`` MU steps on the full
plane. The result is deterministic: the generator is not used.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from nmfnet.model import NetConfig, NMFNet
from nmfnet.refine import refined

WEIGHTS = Path(__file__).with_name("weights") / "nmfnet-r20.pt"


@dataclass(frozen=True)
class Refine:
    """After the network: a start (one of :data:`nmfnet.refine.STARTS`), then MU steps."""

    steps: int = 0
    start: str = "net"


@functools.cache
def load(path: Path = WEIGHTS, device: str = "cpu") -> tuple[NMFNet, Refine]:
    """The model of a weights file, in eval mode, and the refine it was trained for."""
    state = torch.load(path, map_location=device, weights_only=True)
    model = NMFNet(NetConfig(**state["config"])).to(device)
    model.load_state_dict(state["model"])
    return model.eval(), Refine(**state["refine"])


def resample_rows(V: torch.Tensor, length: int) -> torch.Tensor:
    """(B, n, m) → (B, n, length): each row resampled linearly, or box-averaged when it
    shrinks more than 4× (linear is 8× faster at 768 → 308; box averaging keeps a
    tens-of-megapixels row from being point-sampled)."""
    if V.shape[-1] == length:
        return V
    mode = "area" if V.shape[-1] > 4 * length else "linear"
    return F.interpolate(V, size=length, mode=mode)


def predict(
    model: NMFNet, V: torch.Tensor, resampling: str = "axes"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Model factors of full size, W (B, n, R) and H (B, R, m), for V (B, n, m) float32."""
    config = model.config
    if resampling == "axes":
        W = model.wnet(resample_rows(V, config.cols))
        H = model.hnet(resample_rows(V.mT, config.rows))
    elif resampling == "plane":
        small = resample_rows(resample_rows(V, config.cols).mT, config.rows).mT
        W, H = model(small)
        W = resample_rows(W.mT, V.shape[-2]).mT
        H = resample_rows(H, V.shape[-1]).mT
    else:
        raise ValueError(f"resampling must be 'axes' or 'plane', got {resampling!r}")
    return W, H.mT


def strongest(W: torch.Tensor, H: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``rank`` components k with the largest ‖W_k‖·‖H_k‖, per plane, in their order."""
    if rank == W.shape[-1]:
        return W, H
    energy = W.norm(dim=-2) * H.norm(dim=-1)  # (B, R)
    keep = energy.topk(rank, dim=-1).indices.sort(-1).values  # (B, rank)
    return W.gather(-1, keep[:, None, :].expand(-1, W.shape[-2], -1)), H.gather(
        -2, keep[:, :, None].expand(-1, -1, H.shape[-1])
    )


def factors(
    V: torch.Tensor, rank: int, model: NMFNet, refine: Refine, resampling: str = "axes"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-negative W (B, n, rank), H (B, rank, m) for V (B, n, m) from ``model``."""
    if not 1 <= rank <= model.config.rank:
        raise ValueError(
            f"the nmfnet weights serve ranks 1 to {model.config.rank}, got rank {rank}; "
            "use another init (e.g. 'kmeans') for larger ranks"
        )
    with torch.no_grad():
        X = V.float()
        W, H = strongest(*predict(model, X, resampling), rank)
        W, H = refined(X, W, H, refine.start, refine.steps)
    return W.to(V.dtype), H.to(V.dtype)


def initialize(
    V: torch.Tensor, rank: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The registry's entry point: the shipped model on V's device (see the module docstring)."""
    model, refine = load(WEIGHTS, str(V.device))
    return factors(V, rank, model, refine)
