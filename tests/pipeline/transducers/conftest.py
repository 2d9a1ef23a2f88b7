"""Shared fixtures: the phantom with a pinna-like flap (an 'ear') on its right side."""

import numpy as np
import pytest

from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.model import HeadModel
from tfus.pipeline.head.phantom import ellipsoid_head


@pytest.fixture(scope="session")
def eared_head() -> HeadModel:
    """3 mm phantom plus a 6 mm thick flap of scalp at x = 84-90 mm, joined to the head by a bridge at its base, with
    an air gap between flap and head (like a pinna)."""
    head = ellipsoid_head(spacing_mm=3.0)
    labels = head.labels.copy()
    x, y, z = (head.affine[d, 3] + 3.0 * np.arange(n) for d, n in enumerate(labels.shape))
    xx, yy, zz = np.meshgrid(x, y, z, indexing="ij")
    pinna = (xx >= 84) & (xx <= 90) & (np.abs(yy) <= 15) & (zz >= 5) & (zz <= 35)
    bridge = (xx >= 65) & (xx <= 90) & (np.abs(yy) <= 15) & (zz >= 2) & (zz <= 7)
    labels[(pinna | bridge) & (labels == Label.BACKGROUND)] = Label.SCALP
    return HeadModel(hu=head.hu, labels=labels, affine=head.affine, meta=dict(head.meta, ear=True))
