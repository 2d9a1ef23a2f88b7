"""Surrogate data: transducer points from poses, datasets reading the tfus store."""

from tfus.surrogates.data.points import transducer_points

__all__ = ["transducer_points"]
