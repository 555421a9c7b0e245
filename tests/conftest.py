"""Shared fixtures: small deterministic images and matrices (no ../shared needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A 96 × 128 crop-and-shrink of scikit-image's astronaut: a real photo, small."""
    image = Image.fromarray(data.astronaut()).resize((128, 96), Image.Resampling.LANCZOS)
    return np.asarray(image)


@pytest.fixture
def low_rank() -> np.ndarray:
    """An exactly rank-4 non-negative 40 × 30 matrix plus a little non-negative noise."""
    rng = np.random.default_rng(7)
    return rng.random((40, 4)) @ rng.random((4, 30)) + 0.01 * rng.random((40, 30))
