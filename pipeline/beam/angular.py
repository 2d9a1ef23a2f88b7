"""The bowl's field through the head in its beam box by the hybrid angular spectrum: a physics estimate in milliseconds.

In the beam frame the bowl sits on the box's middle grid line pointing along ``+k``, so its water field on any plane
in front of its rim is the same for every pose: the Rayleigh integral on the first whole plane past the rim (computed
once per bowl, spacing and box, cached in memory) is marched through the box's medium by
:func:`tfus.pipeline.engines.angular_spectrum.hybrid_angular_spectrum`. Planes behind the start plane (inside the
bowl's cavity) hold the Rayleigh field in water (plus the reflected wave): whatever tissue lies there (scalp inside
the cavity) does not change the forward wave.

It is the physics prior of the beam-frame surrogates with ``prior: angular-spectrum``: it knows the skull under this
pose (attenuation, the phase delays that move and blur the focus, the impedance losses), and the network learns what
a one-way model misses (reflections, reverberation in the plate, oblique transmission).

Example:
    >>> # box = beam_angular_spectrum(bowl, frame, props)   # amplitude (Pa), frame.shape, ~50 ms for 57 x 57 x 68
"""

from __future__ import annotations

import functools
import math

import numpy as np

from tfus.pipeline.acoustics.properties import AcousticProperties
from tfus.pipeline.engines.angular_spectrum import hybrid_angular_spectrum
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer

__all__ = ["beam_angular_spectrum", "beam_start_plane", "water_start"]

#: quadrature density of the Rayleigh sum (converged to ~1e-7 of the peak beyond a wavelength from the cap)
_RAYLEIGH_PPW = 4.0
#: sound speed (m/s) and density (kg/m^3) of the coupling water
_WATER_C, _WATER_RHO = 1500.0, 1000.0


def beam_start_plane(transducer: BowlTransducer, spacing_mm: float, apex_k: float) -> int:
    """Index of the first box plane wholly in front of the bowl's rim (the march starts there)."""
    rim_mm = transducer.radius_of_curvature_mm - math.sqrt(
        transducer.radius_of_curvature_mm ** 2 - transducer.aperture_radius_mm ** 2)
    return int(math.ceil(apex_k + rim_mm / spacing_mm + 1e-9))


@functools.lru_cache(maxsize=8)
def water_start(transducer: BowlTransducer, shape: tuple[int, int, int], spacing_mm: float,
                apex_k: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The pose-independent part: ``(plane, behind, start)`` with the complex Rayleigh pressure (Pa) on the start plane
    ``(nx, ny)`` and on the planes before it ``(nx, ny, start)``, and the start index.

    Cached in memory and on disk (:func:`tfus.pipeline.resources.cached_array`): a few seconds once per machine."""
    from tfus.pipeline.resources import cached_array
    from tfus.pipeline.validation.rayleigh import rayleigh_bowl

    nx, ny, nz = shape
    start = beam_start_plane(transducer, spacing_mm, apex_k)
    if start >= nz:
        raise TfusInputError(f"the beam box ({nz} planes) ends before the bowl's rim (plane {start}); widen the box")

    def compute() -> np.ndarray:
        lat_x = (np.arange(nx) - (nx - 1) / 2) * spacing_mm
        lat_y = (np.arange(ny) - (ny - 1) / 2) * spacing_mm
        axial = (np.arange(start + 1) - apex_k) * spacing_mm
        gx, gy, gz = np.meshgrid(lat_x, lat_y, axial, indexing="ij")
        pts = np.stack([gz, gx, gy], -1)  # source frame: axial first
        return rayleigh_bowl(transducer, pts, sound_speed=_WATER_C, density=_WATER_RHO,
                             points_per_wavelength=_RAYLEIGH_PPW).astype(np.complex128)

    t = transducer
    key = (f"r{t.radius_of_curvature_mm:.6g}-a{t.aperture_diameter_mm:.6g}-f{t.frequency_hz:.9g}"
           f"-p{t.source_amplitude_pa:.9g}-s{spacing_mm:.6g}-n{nx}x{ny}-k{apex_k:.6g}-to{start}-q{_RAYLEIGH_PPW:g}")
    p = cached_array(f"beam-rayleigh-v1-{key}", compute, ndim=3)
    if p.shape != (nx, ny, start + 1):
        p = compute()
    plane = p[:, :, start].astype(np.complex128)
    behind = np.ascontiguousarray(p[:, :, :start]).astype(np.complex64)
    plane.setflags(write=False)
    behind.setflags(write=False)
    return plane, behind, start


def beam_angular_spectrum(transducer: BowlTransducer, shape: tuple[int, int, int], spacing_mm: float,
                          apex_k: float, props: AcousticProperties, *, reflections: bool = True) -> np.ndarray:
    """Pressure amplitude (Pa) of the bowl through ``props`` in its beam box, float32 ``shape``.

    Args:
        transducer: the bowl (its ``frequency_hz`` is the driving frequency).
        shape: the box shape (bowl on the middle grid line, pointing along ``+k``).
        spacing_mm: the box spacing.
        apex_k: the box index of the apex along ``k`` (:attr:`tfus.pipeline.beam.BeamFrame.apex_index` ``[2]``).
        props: the box's acoustic properties (``shape``).
        reflections: add the once-reflected wave (:func:`~tfus.pipeline.engines.angular_spectrum.
            hybrid_angular_spectrum`): the standing waves between skull and bowl, which hold much of the box's energy.

    Raises:
        TfusInputError: properties of another shape, or a box that ends before the bowl's rim.
    """
    shape = tuple(int(n) for n in shape)
    if tuple(props.shape) != shape:
        raise TfusInputError(f"acoustic properties of shape {props.shape} for a beam box of shape {shape}")
    plane, behind, start = water_start(transducer, shape, float(spacing_mm), float(apex_k))
    field = hybrid_angular_spectrum(plane, props.sound_speed, props.density,
                                    props.absorption_db_cm(transducer.frequency_hz), spacing_mm=spacing_mm,
                                    frequency_hz=transducer.frequency_hz, start=start, reflections=reflections)
    field[:, :, :start] += behind
    return np.abs(field).astype(np.float32)
