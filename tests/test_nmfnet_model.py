import pytest
import torch

from nmfnet.model import NetConfig, NMFNet, layer_widths, parameter_count, row_windows


def test_parameter_counts_reproduce_the_thesis_grid_extremes():
    # Table 4.4: 13,920 (k=1, f=10, d=1) to 20,476,806 (k=15, f=2, d=10) parameters.
    assert parameter_count(NetConfig(window=1, funnel=10.0, depth=1)) == 13_920
    assert parameter_count(NetConfig(window=15, funnel=2.0, depth=10)) == 20_476_806


def test_layer_widths_funnel_then_gooseneck():
    assert layer_widths(308, 7.5, 20, 3) == [308, 41, 20, 20, 20]
    assert layer_widths(204, 10.0, 20, 1) == [204, 20]  # 20.4 is not wider than r


def test_parameter_count_matches_the_module():
    config = NetConfig(window=3, funnel=4.0, depth=2, rank=5)
    assert parameter_count(config) == sum(p.numel() for p in NMFNet(config).parameters())


def test_row_windows_zero_pad_and_flatten():
    V = torch.arange(6.0).reshape(1, 3, 2)  # rows [0 1], [2 3], [4 5]
    windows = row_windows(V, 3)
    assert windows.shape == (1, 3, 6)
    assert windows[0, 0].tolist() == [0, 0, 0, 1, 2, 3]
    assert windows[0, 2].tolist() == [2, 3, 4, 5, 0, 0]
    assert torch.equal(row_windows(V, 1), V)


def test_forward_shapes_and_output_activation():
    torch.manual_seed(0)
    model = NMFNet(NetConfig(rank=4, window=3, funnel=3.0, depth=2, rows=6, cols=10))
    V = torch.rand(2, 6, 10)
    W, H = model.train()(V)
    assert W.shape == (2, 6, 4) and H.shape == (2, 4, 10)
    assert (W < 0).any() or (H < 0).any()  # linear output in training
    W, H = model.eval()(V)
    assert (W >= 0).all() and (H >= 0).all()  # ReLU at inference


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": 2}, "window must be a positive odd"),
        ({"funnel": 1.0}, "funnel must be > 1"),
        ({"depth": 0}, "depth and rank must be >= 1"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NetConfig(**kwargs)
