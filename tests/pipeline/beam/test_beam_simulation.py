"""Simulations in the beam frame: O'Neil in an oblique box at 6 points per wavelength (the bowl on the grid axis,
positions in world mm), and a head run whose box field maps back onto the head grid."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.beam import BeamBox, from_box
from tfus.pipeline.engines.kwave.config import KWaveConfig
from tfus.pipeline.engines.run import SimulationRequest, run_simulation
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label
from tfus.pipeline.head.phantom import PhantomGeometry, ellipsoid_head
from tfus.pipeline.kwave_compat import import_kwave
from tfus.pipeline.transducers import BowlTransducer, Pose


def _parabolic_peak(z: np.ndarray, line: np.ndarray) -> tuple[float, float]:
    i = int(np.argmax(line))
    a, b, c = line[i - 1], line[i], line[i + 1]
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return float(z[i] + shift * (z[1] - z[0])), float(b - 0.25 * (a - c) * shift)


@pytest.mark.slow
def test_oblique_beam_box_in_water_matches_oneil():
    """1 MHz, R = aperture = 10 mm, 0.25 mm grid = 6 points per wavelength, an oblique axis: the issue's bar is
    <= 1 % on the peak and <= 0.5 mm on its position (k-Wave's own tests allow 1 % at 3 PPW)."""
    bowl = BowlTransducer("small", 10.0, 10.0, 1.0e6, 1.0e5)
    axis = np.array([1.0, 2.0, -2.0]) / 3.0
    apex = np.array([3.0, -4.0, 7.0])
    pose = Pose(apex, apex + 10.0 * axis)
    res = run_simulation(SimulationRequest(
        transducer=bowl, pose=pose, spacing_mm=0.25, frame="beam",
        box=BeamBox(lateral_margin_mm=2.0, behind_mm=1.0, beyond_focus_mm=4.0),
        kwave=KWaveConfig(pml_size=12, domain_crossings=1.0, bli_tolerance=0.01)))
    frame = res.frame
    assert res.field.amplitude.shape == frame.shape
    np.testing.assert_allclose(res.field.affine, frame.affine)
    c = (frame.shape[0] - 1) // 2
    k = np.arange(frame.shape[2])
    line = res.field.amplitude[c, c, :]
    z = (k - frame.apex_index[2]) * frame.spacing_mm  # mm from the apex along the axis
    world = frame.box_to_world(np.stack([np.full(k.size, c), np.full(k.size, c), k], 1))
    np.testing.assert_allclose(world, apex + z[:, None] * axis, atol=1e-9)  # the grid axis is the bowl axis
    sel = z > 3.0  # beyond the bowl's near field
    kwave = import_kwave()
    u0 = bowl.source_amplitude_pa / (1000.0 * 1500.0)
    z_fine = np.arange(3.0, z.max(), 0.01)
    ref, _, _ = kwave.utils.mapgen.focused_bowl_oneil(0.010, 0.010, u0, 1e6, 1500.0, 1000.0,
                                                      axial_positions=z_fine * 1e-3)
    z_peak, peak = _parabolic_peak(z[sel], line[sel])
    assert abs(peak / ref.max() - 1) < 0.01
    assert abs(z_peak - z_fine[np.argmax(ref)]) <= 0.5


def _small_head():
    return ellipsoid_head(spacing_mm=2.0, geometry=PhantomGeometry(radii_mm=(40.0, 46.0, 42.0), margin_mm=6.0,
                                                                   neck_radius_mm=20.0))


def test_head_run_in_the_beam_box_maps_back_to_the_head_grid():
    head = _small_head()
    bowl = BowlTransducer("ctx-like", 30.0, 30.0, 2.0e5, 6e4)
    pose = Pose([0.0, 0.0, 50.0], [0.0, 0.0, 10.0])
    res = run_simulation(SimulationRequest(transducer=bowl, pose=pose, head=head, frame="beam",
                                           kwave=KWaveConfig(pml_size=8, domain_crossings=1.0)))
    frame = res.frame
    assert res.head.shape == frame.shape and res.medium.shape == frame.shape
    # the skull was resampled into the box: bone under the bowl, water behind it
    assert np.isin(res.head.labels, [Label.CORTICAL, Label.TRABECULAR]).any()
    assert res.medium.sound_speed[:, :, 0].max() == pytest.approx(1500.0)
    back = from_box(res.field.amplitude, frame, head.shape, head.affine)
    assert back.shape == head.shape and back.max() > 0
    # zero outside the box, and the maximum inside the brain lies near the geometric focus on the axis
    far = head.world_to_voxel(np.array([35.0, 40.0, -30.0])).round().astype(int)
    assert back[tuple(far)] == 0
    brain = head.labels == Label.BRAIN
    i = np.unravel_index(np.argmax(np.where(brain, back, 0)), back.shape)
    peak_world = head.voxel_to_world(np.array(i, float))
    assert np.linalg.norm(peak_world[:2]) <= 2 * head.spacing_mm + 1e-9  # on the axis, within a voxel diagonal


def test_bad_frame_and_a_box_far_outside_the_image():
    with pytest.raises(TfusInputError, match="unknown frame 'box'; use one of grid, beam"):
        SimulationRequest(transducer="itrusst-sc1", pose=Pose([0, 0, 0], [0, 0, 1.0]), frame="box")
    head = _small_head()
    bowl = BowlTransducer("ctx-like", 30.0, 30.0, 2.0e5, 6e4)
    with pytest.raises(TfusInputError, match="beam box leaves the head image by"):
        run_simulation(SimulationRequest(transducer=bowl, pose=Pose([0.0, 0.0, 120.0], [0.0, 0.0, 0.0]),
                                         head=head, frame="beam"))
