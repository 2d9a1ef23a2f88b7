"""A tiny dataset definition for generation tests: small phantom CT heads (different sizes) at 3 mm, a 100 kHz bowl
(R = aperture = 24 mm, 5 points per wavelength in water), two poses per head, k-Wave with a thin PML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from tfus.pipeline.head.phantom import PhantomGeometry, ellipsoid_head
from tfus.pipeline.io.nifti import write_nifti

GRID = [38, 42, 40]
TRANSDUCER = {"name": "tiny-bowl", "description": "test bowl", "radius_of_curvature_mm": 24.0,
              "aperture_diameter_mm": 24.0, "frequency_hz": 100000.0, "source_amplitude_pa": 60000.0}


def write_tiny_dataset(folder: Path, *, per_head: int = 2, heads: int = 2, cluster: dict | None = None,
                       **overrides) -> Path:
    """Write the phantom images, the transducer and ``dataset.yaml`` into ``folder``; return the YAML path."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(heads):
        geometry = PhantomGeometry(radii_mm=(52.0 + 3 * i, 58.0 + 3 * i, 54.0), scalp_mm=3.0, outer_table_mm=2.0,
                                   diploe_mm=2.0, inner_table_mm=2.0, neck_radius_mm=20.0, margin_mm=8.0)
        head = ellipsoid_head(spacing_mm=3.0, geometry=geometry)
        write_nifti(folder / f"head{i}.nii.gz", head.hu.astype(np.int16), head.affine)
        entries.append({"name": f"phantom{i}", "image": f"head{i}.nii.gz", "modality": "ct"})
    (folder / "tiny-bowl.yaml").write_text(yaml.safe_dump(TRANSDUCER), encoding="utf-8")
    config = {"name": "tiny", "seed": 0, "heads": entries, "grid": {"shape": GRID, "spacing_mm": 3.0},
              "transducer": str(folder / "tiny-bowl.yaml"),
              "poses": {"per_head": per_head, "aim": "brain-centre", "max_standoff_mm": 20.0},
              "simulation": {"engine": "kwave", "kwave": {"pml_size": 8, "domain_crossings": 0.8, "cfl": 0.5,
                                                          "ramp_periods": 1.5, "record_periods": 2}},
              "splits": {"test": 0.5}, "retries": 1,
              "cluster": {"kind": "local", "workers": 2, **(cluster or {})}}
    config.update(overrides)
    path = folder / "dataset.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
