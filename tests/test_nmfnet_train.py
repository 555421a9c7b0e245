import numpy as np
import pytest
import torch

from nmfnet import inference
from nmfnet.data import ChromaViews
from nmfnet.stats import fit_stats
from nmfnet.train import (
    START_OF,
    Batches,
    TrainConfig,
    best_checkpoint,
    export_weights,
    read_log,
    train,
)

Z = np.linspace(0, 1, 50)
STATS = fit_stats(np.stack([0.15 + 0.05 * Z, 0.1 + 0.02 * Z, 0.12 - 0.02 * Z, 0.06 + 0.01 * Z], 1))
TINY = {"depth": 1, "funnel": 10.0, "steps": 6, "batch": 4, "val_batch": 2, "lr": 1e-3}


def _views() -> ChromaViews:
    g = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.linspace(0, 1, 120), torch.linspace(0, 1, 180), indexing="ij")
    return ChromaViews(
        [0.5 + 0.2 * torch.sin(6 * x + 3 * y + k) * torch.rand(1, generator=g) for k in range(3)],
        204,
        308,
    )


def test_tiny_thesis_run_learns_and_writes_its_outputs(tmp_path):
    config = TrainConfig(epochs=3, **TINY)
    records = train(config, tmp_path, Batches(config, STATS, None, None))
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert len(list(tmp_path.glob("checkpoint-*.pt"))) == 3
    assert len(list(tmp_path.glob("reference-*.png"))) == 3
    epochs, steps = read_log(tmp_path)
    assert len(epochs) == 3 and len(steps) == 18


def test_resume_continues_as_an_uninterrupted_run(tmp_path):
    config = TrainConfig(epochs=2, **TINY)
    batches = Batches(config, STATS, None, None)
    whole = train(config, tmp_path / "whole", batches)
    train(TrainConfig(epochs=1, **TINY), tmp_path / "resumed", batches)
    resumed = train(config, tmp_path / "resumed", batches)
    assert [r["train_loss"] for r in resumed] == pytest.approx([r["train_loss"] for r in whole])


@pytest.mark.parametrize("objective", ["reconstruction", "unrolled", "projected", "clustered"])
def test_real_chroma_objectives_run_and_export(tmp_path, objective):
    config = TrainConfig(epochs=1, objective=objective, data="mixed", unroll=2, **TINY)
    views = _views()
    train(config, tmp_path, Batches(config, STATS, views, views))
    export_weights(best_checkpoint(tmp_path), tmp_path / "w.pt", refine_steps=2)
    model, refine = inference.load(tmp_path / "w.pt")
    assert refine.steps == 2 and refine.start == START_OF.get(objective, "net")
    W, H = inference.factors(torch.rand(1, 30, 40), 20, model, refine)
    assert W.shape == (1, 30, 20) and H.shape == (1, 20, 40) and (W >= 0).all() and (H >= 0).all()


def test_config_errors_name_the_setting():
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(loss="huber")
    with pytest.raises(ValueError, match="needs data 'synthetic'"):
        TrainConfig(objective="factors", data="real")
    with pytest.raises(ValueError, match="unknown training settings"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="needs training and validation chroma"):
        Batches(TrainConfig(objective="unrolled", data="real"), None, None, None)
