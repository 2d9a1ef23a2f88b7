"""The beam frame: boxes aligned with the bowl axis, and moving volumes between head grids and boxes."""

from tfus.pipeline.beam.frame import BeamBox, BeamFrame, beam_axes
from tfus.pipeline.beam.head import MAX_OUTSIDE_MM, head_in_box
from tfus.pipeline.beam.resample import (
    AIR_HU,
    box_outside_image_mm,
    check_box_in_image,
    field_from_box,
    from_box,
    resample_onto,
    to_box,
    to_sitk,
)
from tfus.pipeline.beam.water import CANONICAL_POSE, water_field, water_field_key

__all__ = ["AIR_HU", "CANONICAL_POSE", "MAX_OUTSIDE_MM", "BeamBox", "BeamFrame", "beam_axes", "box_outside_image_mm",
           "check_box_in_image", "field_from_box", "from_box", "head_in_box", "resample_onto", "to_box", "to_sitk",
           "water_field", "water_field_key"]
