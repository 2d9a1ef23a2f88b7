"""A synthetic layered head for tests and benchmarks: ellipsoidal scalp, three-layer skull, brain, and a neck.

The geometry is analytic, so tests know the true skull thickness and where the cranium is.

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> head = ellipsoid_head(spacing_mm=4.0)
    >>> head.shape
    (53, 63, 58)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.model import HeadModel

#: HU assigned to each phantom layer.
PHANTOM_HU = {Label.BACKGROUND: -1000.0, Label.SCALP: 40.0, Label.CORTICAL: 1600.0, Label.TRABECULAR: 700.0,
              Label.BRAIN: 30.0}


@dataclass(frozen=True)
class PhantomGeometry:
    """Radii in mm of the outer scalp ellipsoid (x: left-right, y: posterior-anterior, z: inferior-superior) and the
    thickness of each layer measured inward along the axes."""

    radii_mm: tuple[float, float, float] = (75.0, 95.0, 85.0)
    scalp_mm: float = 5.0
    outer_table_mm: float = 2.0
    diploe_mm: float = 3.0
    inner_table_mm: float = 2.0
    neck_radius_mm: float = 45.0
    margin_mm: float = 30.0

    @property
    def skull_thickness_mm(self) -> float:
        return self.outer_table_mm + self.diploe_mm + self.inner_table_mm


def ellipsoid_head(spacing_mm: float = 2.0, geometry: PhantomGeometry = PhantomGeometry()) -> HeadModel:
    """Build the phantom on an isotropic grid in RAS with the head centre at world (0, 0, 0)."""
    g = geometry
    half = np.array(g.radii_mm) + g.margin_mm
    shape = tuple(int(np.ceil(2 * h / spacing_mm)) for h in half)
    origin = -np.array(shape, dtype=float) * spacing_mm / 2 + spacing_mm / 2
    affine = np.diag([spacing_mm] * 3 + [1.0])
    affine[:3, 3] = origin
    x, y, z = (origin[d] + spacing_mm * np.arange(shape[d]) for d in range(3))
    xx, yy, zz = np.meshgrid(x, y, z, indexing="ij")

    def inside(depth: float) -> np.ndarray:
        a, b, c = (r - depth for r in g.radii_mm)
        return (xx / a) ** 2 + (yy / b) ** 2 + (zz / c) ** 2 <= 1.0

    labels = np.zeros(shape, np.uint8)
    neck = (xx**2 + (yy + 10.0) ** 2 <= g.neck_radius_mm**2) & (zz < 0)
    labels[inside(0.0) | neck] = Label.SCALP
    d = g.scalp_mm
    labels[inside(d)] = Label.CORTICAL
    labels[inside(d + g.outer_table_mm)] = Label.TRABECULAR
    labels[inside(d + g.outer_table_mm + g.diploe_mm)] = Label.CORTICAL
    labels[inside(d + g.skull_thickness_mm)] = Label.BRAIN
    hu = np.full(shape, PHANTOM_HU[Label.BACKGROUND], np.float32)
    for lab, value in PHANTOM_HU.items():
        hu[labels == lab] = value
    meta = {"method": "phantom", "geometry": g.__dict__, "spacing_mm": spacing_mm}
    return HeadModel(hu=hu, labels=labels, affine=affine, meta=meta)
