import pytest
import torch

from codec import registry
from codec.nmf import factorize, initialize
from nmfnet import inference


def test_shipped_weights_load_with_weights_only():
    state = torch.load(inference.WEIGHTS, weights_only=True)
    assert set(state) == {"config", "model", "refine"}
    assert inference.WEIGHTS.stat().st_size < 4 * 2**20


def test_registry_serves_nmfnet():
    assert registry.get("nmfnet").code == 8
    assert registry.get("nmfnet").load() is inference.initialize


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 37), (37, 1), (3, 500), (204, 308), (61, 1024)])
def test_any_plane_size(n, m):
    V = torch.rand(n, m, generator=torch.Generator().manual_seed(n * m))
    rank = min(20, n, m)
    W, H = initialize(V, rank, "nmfnet")
    assert W.shape == (n, rank) and H.shape == (rank, m)
    assert torch.isfinite(W).all() and torch.isfinite(H).all()
    assert (W >= 0).all() and (H >= 0).all()


def test_deterministic_batched_and_in_v_dtype():
    V = torch.rand(2, 40, 60, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    W1, H1 = initialize(V, 20, "nmfnet", seed=1)
    W2, H2 = initialize(V, 20, "nmfnet", seed=2)
    assert W1.dtype == torch.float64 and torch.equal(W1, W2) and torch.equal(H1, H2)
    W0, _ = initialize(V[0], 20, "nmfnet")
    torch.testing.assert_close(W0, W1[0].float().double(), rtol=1e-4, atol=1e-6)


def test_initial_error_beats_random_on_a_smooth_plane():
    y, x = torch.meshgrid(torch.linspace(0, 1, 96), torch.linspace(0, 1, 128), indexing="ij")
    V = 0.5 + 0.1 * torch.sin(5 * x) * torch.cos(3 * y) + 0.05 * x
    ours = factorize(V, 20, init="nmfnet", iterations=0).errors[0]
    assert ours < factorize(V, 20, init="random", iterations=0).errors[0]


def test_rank_above_the_model_is_refused():
    with pytest.raises(ValueError, match="serve ranks 1 to 20, got rank 21"):
        initialize(torch.rand(30, 30), 21, "nmfnet")


def test_lower_rank_keeps_the_strongest_components():
    W = torch.tensor([[[1.0, 5.0, 2.0]]])
    H = torch.ones(1, 3, 4)
    Wk, Hk = inference.strongest(W, H, 2)
    assert Wk.tolist() == [[[5.0, 2.0]]] and Hk.shape == (1, 2, 4)


def test_plane_resampling_variant():
    model, refine = inference.load()
    V = torch.rand(1, 50, 70)
    W, H = inference.factors(V, 20, model, refine, resampling="plane")
    assert W.shape == (1, 50, 20) and H.shape == (1, 20, 70)
    with pytest.raises(ValueError, match="resampling must be"):
        inference.factors(V, 20, model, refine, resampling="tiles")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    V = torch.rand(64, 96)
    W, H = initialize(V.cuda(), 20, "nmfnet")
    Wc, Hc = initialize(V, 20, "nmfnet")
    assert W.is_cuda
    torch.testing.assert_close(W.cpu(), Wc, rtol=1e-3, atol=1e-4)
