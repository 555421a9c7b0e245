import pytest
import torch

from nmfnet import refine


def test_zero_scores_give_the_block_prior():
    weights = refine.soft_assignments(torch.zeros(2, 4, 12))
    torch.testing.assert_close(weights.sum(-2), torch.ones(2, 12))
    assert weights.argmax(-2)[0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_lloyd_step_separates_two_kinds_of_column():
    V = torch.cat([torch.full((1, 5, 3), 0.2), torch.full((1, 5, 3), 0.8)], -1)
    V = V[..., [0, 3, 1, 4, 2, 5]]  # interleaved: the block prior alone mixes them
    weights = refine.soft_assignments(torch.zeros(1, 2, 6))
    for _ in range(3):
        weights = refine.lloyd_step(V, weights)
    labels = weights.argmax(-2)[0]
    assert labels[::2].unique().numel() == 1 and labels[1::2].unique().numel() == 1
    assert labels[0] != labels[1]


def test_fit_h_never_increases_the_error():
    g = torch.Generator().manual_seed(0)
    V, W = torch.rand(1, 20, 30, generator=g), torch.rand(1, 20, 4, generator=g)
    H = torch.rand(1, 4, 30, generator=g)
    errors = [refine.relative_error(V, W, refine.fit_h(V, W, H, s)).item() for s in (0, 1, 5, 20)]
    assert errors == sorted(errors, reverse=True)


@pytest.mark.parametrize("start", refine.STARTS)
def test_starts_are_non_negative_and_shaped(start):
    g = torch.Generator().manual_seed(1)
    V = torch.rand(2, 9, 13, generator=g)
    W, H = refine.refined(
        V, torch.randn(2, 9, 3, generator=g), torch.randn(2, 3, 13, generator=g), start, 2
    )
    assert W.shape == (2, 9, 3) and H.shape == (2, 3, 13)
    assert (W > 0).all() and (H > 0).all()


def test_symmetric_start_keeps_the_better_side():
    g = torch.Generator().manual_seed(2)
    V = torch.rand(1, 16, 24, generator=g)
    W, H = torch.randn(1, 16, 4, generator=g), torch.randn(1, 4, 24, generator=g)
    chosen = refine.relative_error(V, *refine.refined(V, W, H, "clustered", 0))
    columns = refine.relative_error(V, *refine.starting_factors(V, W, H, "clustered"))
    Ht, Wt = refine.starting_factors(V.mT, H.mT, W.mT, "clustered")
    rows = refine.relative_error(V, Wt.mT, Ht.mT)
    assert chosen.item() == pytest.approx(min(columns.item(), rows.item()))


def test_unknown_start_is_refused():
    with pytest.raises(ValueError, match="start must be one of"):
        refine.starting_factors(
            torch.rand(1, 3, 3), torch.rand(1, 3, 1), torch.rand(1, 1, 3), "svd"
        )


def test_assignments_are_never_subnormal():
    # Regression: far-off columns got subnormal softmax weights, slowing the init 4x on CPU.
    V = torch.cat([torch.zeros(1, 8, 10), torch.ones(1, 8, 10)], -1)
    weights = refine.lloyd_step(V, refine.soft_assignments(torch.zeros(1, 2, 20)))
    assert weights.min() >= 1e-12
    assert refine.soft_assignments(torch.tensor([[[0.0], [-200.0]]])).min() >= 1e-12
