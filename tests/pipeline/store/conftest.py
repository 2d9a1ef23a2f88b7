"""Store test fixtures: a tiny store spec and a factory for created stores."""

from __future__ import annotations

import pytest

from tests.helpers.store import GRID
from tfus.pipeline.store import StoreSpec, create_store


@pytest.fixture
def spec() -> StoreSpec:
    return StoreSpec(grid_shape=GRID, spacing_mm=2.0, frequency_hz=5e5, engines=("kwave", "fem"),
                     transducer={"name": "tiny", "radius_of_curvature_mm": 10.0, "aperture_mm": 8.0,
                                 "frequency_hz": 5e5}, with_phase=True)


@pytest.fixture
def make_store(tmp_path, spec):
    """``make_store(n_samples=4, n_heads=2, name=..., spec_obj=...)`` -> (path, group) of a new empty store."""

    def make(n_samples: int = 4, n_heads: int = 2, name: str = "s.zarr", spec_obj: StoreSpec | None = None):
        path = tmp_path / name
        group = create_store(path, spec_obj or spec, head_names=[f"head{i}" for i in range(n_heads)],
                             n_samples=n_samples, splits={"train": [0], "test": list(range(1, n_heads))},
                             creation_config={"seed": 3, "note": "test"})
        return path, group

    return make
