"""Transducers: focused bowl definitions and presets, poses, the scalp surface and pose sampling over the cranium.

Example:
    >>> from tfus.pipeline.head.phantom import ellipsoid_head
    >>> from tfus.pipeline.transducers import load_transducer, sample_poses
    >>> poses = sample_poses(ellipsoid_head(spacing_mm=4.0), load_transducer("itrusst-sc1"), 2, seed=1)
    >>> [round(p.pose.distance_mm) for p in poses]
    [64, 64]
"""

from tfus.pipeline.transducers.bowl import BowlTransducer, allowed_keys, list_presets, load_transducer
from tfus.pipeline.transducers.pose import Pose, bowl_local_points, bowl_surface_points, orthonormal_frame
from tfus.pipeline.transducers.sampler import CSV_COLUMNS, SampledPose, poses_to_csv, read_poses_csv, sample_poses
from tfus.pipeline.transducers.scalp import (
    ScalpSurface,
    brain_centroid,
    cranium_mask,
    ray_reaches_brain,
    scalp_surface,
    solid_head_mask,
    surface_normals,
)

__all__ = [
    "CSV_COLUMNS", "BowlTransducer", "Pose", "SampledPose", "ScalpSurface", "allowed_keys", "bowl_local_points",
    "bowl_surface_points", "brain_centroid", "cranium_mask", "list_presets", "load_transducer", "orthonormal_frame",
    "poses_to_csv", "ray_reaches_brain", "read_poses_csv", "sample_poses", "scalp_surface", "solid_head_mask",
    "surface_normals",
]
