"""The NMFNet training loop (thesis §4): epochs of steps on random batches, validation on one
fixed batch after each epoch, a checkpoint, a log and a reference reconstruction per epoch.

Objectives: ``factors`` (the thesis: MAE/MSE of the predicted W and H against the synthetic
ground truth), ``reconstruction`` (of W·H against V), and three *unrolled* ones — of W·H
after the inference refine (:mod:`nmfnet.refine`) and ``unroll`` differentiable MU steps,
i.e. what the codec starts from: ``unrolled`` (the network's factors), ``projected`` (H
fitted to W) and ``clustered`` (W as cluster means from soft assignments, H fitted).
Data: ``synthetic`` (the statistical factor model), ``real`` (views of chroma planes) or
``mixed`` (half each).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nmfnet.data import ChromaViews
from nmfnet.model import NetConfig, NMFNet
from nmfnet.refine import mu_steps, starting_factors
from nmfnet.stats import FactorStats, synthetic_factors

LOSSES = ("mae", "mse")
OBJECTIVES = ("factors", "reconstruction", "unrolled", "projected", "clustered")
START_OF = {"unrolled": "net", "projected": "projected", "clustered": "clustered"}
"""The refine start (:mod:`nmfnet.refine`) each unrolled objective trains for."""
DATA = ("synthetic", "real", "mixed")


@dataclass(frozen=True)
class TrainConfig:
    """Thesis defaults (Tables 4.1, 4.2; best grid configuration of Table 5.1)."""

    rank: int = 20
    window: int = 1
    funnel: float = 7.5
    depth: int = 10
    loss: str = "mae"
    objective: str = "factors"
    data: str = "synthetic"
    unroll: int = 5
    epochs: int = 15
    steps: int = 100
    batch: int = 32
    val_batch: int = 64
    lr: float = 1e-4
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 1e-5
    seed: int = 0

    def __post_init__(self) -> None:
        for name, allowed in (("loss", LOSSES), ("objective", OBJECTIVES), ("data", DATA)):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}"
                )
        if self.objective == "factors" and self.data != "synthetic":
            raise ValueError(
                "objective 'factors' needs data 'synthetic' (only it has true factors)"
            )
        _ = self.net  # NetConfig validates the architecture

    @property
    def net(self) -> NetConfig:
        return NetConfig(rank=self.rank, window=self.window, funnel=self.funnel, depth=self.depth)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        if unknown := set(values) - known:
            raise ValueError(f"unknown training settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)


Batch = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]
"""(V, W_true, H_true); the true factors only for synthetic data."""


def _on(device: str, batch: Batch) -> Batch:
    V, W, H = batch
    return V.to(device), None if W is None else W.to(device), None if H is None else H.to(device)


class Batches:
    """Random training batches and one fixed validation batch for a :class:`TrainConfig`."""

    def __init__(
        self,
        config: TrainConfig,
        stats: FactorStats | None,
        train_views: ChromaViews | None,
        val_views: ChromaViews | None,
    ) -> None:
        if config.data != "real" and (stats is None or stats.rank != config.rank):
            raise ValueError(f"data {config.data!r} needs factor statistics of rank {config.rank}")
        if config.data != "synthetic" and (train_views is None or val_views is None):
            raise ValueError(f"data {config.data!r} needs training and validation chroma planes")
        self.config, self.stats = config, stats
        self.train_views, self.val_views = train_views, val_views

    def sample(self, batch: int, generator: torch.Generator, validation: bool = False) -> Batch:
        """(V, W_true, H_true); the true factors are None unless the data is synthetic."""
        net, data = self.config.net, self.config.data
        if data == "synthetic":
            assert self.stats is not None
            return synthetic_factors(self.stats, batch, net.rows, net.cols, generator)
        views = self.val_views if validation else self.train_views
        assert views is not None
        if data == "real":
            return views.sample(batch, generator), None, None
        assert self.stats is not None
        synthetic = synthetic_factors(self.stats, batch // 2, net.rows, net.cols, generator)[0]
        return torch.cat([synthetic, views.sample(batch - batch // 2, generator)]), None, None


def _criterion(name: str) -> nn.Module:
    return nn.L1Loss() if name == "mae" else nn.MSELoss()


def reconstruct(
    config: TrainConfig, V: torch.Tensor, W: torch.Tensor, H: torch.Tensor
) -> torch.Tensor:
    """W·H as the objective sees it: for the unrolled objectives, after the refine start
    and ``unroll`` MU steps."""
    if config.objective not in START_OF:
        return W @ H
    W, H = mu_steps(V, *starting_factors(V, W, H, START_OF[config.objective]), config.unroll)
    return W @ H


def objective(
    config: TrainConfig,
    model: NMFNet,
    V: torch.Tensor,
    W_true: torch.Tensor | None,
    H_true: torch.Tensor | None,
) -> torch.Tensor:
    """The training loss; the symmetric starts average both sides (see :mod:`nmfnet.refine`)
    so that WNet and HNet are both trained."""
    criterion = _criterion(config.loss)
    W, H = model(V)
    if config.objective == "factors":
        assert W_true is not None and H_true is not None
        return criterion(W, W_true) + criterion(H, H_true)
    loss = criterion(reconstruct(config, V, W, H), V)
    if START_OF.get(config.objective, "net") != "net":
        loss = (loss + criterion(reconstruct(config, V.mT, H.mT, W.mT), V.mT)) / 2
    return loss


def mean_ssim(V: torch.Tensor, approx: torch.Tensor) -> float:
    from skimage.metrics import structural_similarity

    pairs = zip(V.cpu().numpy(), approx.clamp(0, 1).cpu().numpy(), strict=True)
    return float(np.mean([structural_similarity(a, b, data_range=1.0) for a, b in pairs]))


def save_reference(path: Path, V: torch.Tensor, approx: torch.Tensor) -> None:
    """The reference plane beside its reconstruction, as an 8-bit grayscale PNG."""
    from PIL import Image

    pair = torch.cat([V, approx.clamp(0, 1)], dim=1).cpu().numpy()
    Image.fromarray(np.rint(pair * 255).astype(np.uint8)).save(path)


def _checkpoints(out: Path) -> list[Path]:
    return sorted(out.glob("checkpoint-*.pt"))


def train(
    config: TrainConfig,
    out: Path,
    batches: Batches,
    *,
    device: str = "cpu",
    progress: bool = False,
    keep_all: bool = True,
) -> list[dict[str, float]]:
    """Train into ``out`` (resuming from its last checkpoint); returns the per-epoch records.
    ``keep_all=False`` keeps only the latest checkpoint.

    Each epoch's batches come from a generator seeded by (seed, epoch), so a resumed run
    draws what an uninterrupted one would have.
    """
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    torch.manual_seed(config.seed)
    model = NMFNet(config.net).to(device)
    optimizer = torch.optim.Adam(
        model.parameters(),
        lr=config.lr,
        betas=(config.beta1, config.beta2),
        weight_decay=config.weight_decay,
    )
    records: list[dict[str, float]] = []
    if existing := _checkpoints(out):
        state = torch.load(existing[-1], map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        records = state["records"]
    validation_generator = torch.Generator().manual_seed(config.seed + 10**6)
    V_val, W_val, H_val = _on(device, batches.sample(config.val_batch, validation_generator, True))
    bar = tqdm(
        total=config.epochs * config.steps,
        initial=len(records) * config.steps,
        disable=not progress,
        desc="train",
        unit="step",
    )
    for epoch in range(len(records), config.epochs):
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        model.train()
        losses = []
        for _ in range(config.steps):
            V, W_true, H_true = _on(device, batches.sample(config.batch, generator))
            loss = objective(config, model, V, W_true, H_true)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            bar.update()
            bar.set_postfix(loss=f"{losses[-1]:.4g}")
        with torch.no_grad():
            val_loss = objective(config, model, V_val, W_val, H_val).item()  # linear output
            model.eval()
            approx = reconstruct(config, V_val, *model(V_val))  # ReLU output, as at inference
        record = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_loss": val_loss,
            "val_ssim": mean_ssim(V_val, approx),
            "seconds": time.perf_counter() - started,
        }
        records.append(record)
        with open(out / "log.jsonl", "a") as log:
            log.writelines(
                json.dumps({"epoch": epoch, "step": epoch * config.steps + i, "train_loss": x})
                + "\n"
                for i, x in enumerate(losses)
            )
            log.write(json.dumps(record) + "\n")
        save_reference(out / f"reference-{epoch:03d}.png", V_val[0], approx[0])
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "records": records,
                "config": asdict(config),
            },
            out / f"checkpoint-{epoch:03d}.pt",
        )
        if not keep_all:
            for stale in _checkpoints(out)[:-1]:
                stale.unlink()
    bar.close()
    return records


def best_checkpoint(out: Path) -> Path:
    """The checkpoint of the epoch with the lowest validation loss."""
    paths = _checkpoints(out)
    if not paths:
        raise ValueError(f"no checkpoints in {out}")
    records = torch.load(paths[-1], weights_only=True)["records"]
    best = min(records, key=lambda r: r["val_loss"])["epoch"]
    return out / f"checkpoint-{best:03d}.pt"


def export_weights(checkpoint: Path, path: Path, refine_steps: int) -> None:
    """Ship a checkpoint's model: its NetConfig, weights and the inference refine."""
    state = torch.load(checkpoint, weights_only=True)
    config = TrainConfig.from_dict(state["config"])
    refine = {"steps": refine_steps, "start": START_OF.get(config.objective, "net")}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": config.net.to_dict(), "model": state["model"], "refine": refine}, path)


def read_log(out: Path) -> tuple[list[dict[str, float]], list[float]]:
    """(per-epoch records, per-step train losses) from a run's ``log.jsonl``."""
    lines = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [x for x in lines if "val_loss" in x], [x["train_loss"] for x in lines if "step" in x]
