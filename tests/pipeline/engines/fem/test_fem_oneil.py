"""3D focused bowl in water, explicit FE vs O'Neil's on-axis closed form (k-wave-python's ``focused_bowl_oneil``).

The monopole sheet ``q = 2 u0`` on the cap radiates exactly the Rayleigh-type integral whose on-axis value O'Neil's
formula is, so the only differences are discretisation ones. Budgets (fixed beforehand, as fractions of the peak):
dispersion drift ``k z_max |e|`` (:func:`phase_error_range`, lumped leapfrog with the correction), the cubic source
spread (<= 0.85 % at 8 points per wavelength), 1 % for the 1.5-wavelength sponge (design round trip 1e-2; the axis is
far from it). Peak position: within h/4 (parabolic interpolation through the three largest samples of a peak sampled
at 8 points per wavelength; the dispersion drift moves it by less than 0.01 mm here).
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.engines.fem import BowlSource, FemConfig, phase_error_range, simulate_fem_time
from tfus.pipeline.engines.field import MediumGrid
from tfus.pipeline.kwave_compat import import_kwave
from tfus.pipeline.transducers import BowlTransducer, Pose

F, C, RHO = 2.5e5, 1500.0, 1000.0
R = 24.0  # mm, radius of curvature = aperture diameter (F-number 1)
PPW = 8
LAM = C / F * 1e3  # 6 mm
H = LAM / PPW  # 0.75 mm


def _oneil(bowl: BowlTransducer, z_mm: np.ndarray) -> np.ndarray:
    import_kwave()
    from kwave.utils.mapgen import focused_bowl_oneil

    with np.errstate(divide="ignore", invalid="ignore"):  # at z = R it divides by zero, then takes the limit
        p, _, _ = focused_bowl_oneil(R * 1e-3, R * 1e-3, bowl.normal_velocity_m_s(RHO, C), F, C, RHO,
                                     axial_positions=np.asarray(z_mm, float) * 1e-3)
    return np.asarray(p)


def _peak(z: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    i = int(np.argmax(p))
    y0, y1, y2 = p[i - 1 : i + 2]
    d = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return float(z[i] + d * (z[1] - z[0])), float(y1 - 0.25 * (y0 - y2) * d)


def test_bowl_on_axis_matches_oneil():
    bowl = BowlTransducer("oneil-test", R, R, F, 6e4)
    nx = int(np.ceil((1.5 * R + 1.5) / H)) + 1  # from 1.5 mm behind the apex to 1.5 R
    nl = 2 * int(np.ceil((R / 2 + 1.5) / H)) + 1  # rim +- 1.5 mm
    medium = MediumGrid.homogeneous((nx, nl, nl), H, origin_mm=(-1.5, -(nl // 2) * H, -(nl // 2) * H))
    field = simulate_fem_time(medium, BowlSource(bowl, Pose([0, 0, 0], [R, 0, 0])), FemConfig())
    z = -1.5 + np.arange(nx) * H
    fe = field.amplitude[:, nl // 2, nl // 2].astype(float)
    beyond = z > bowl.dome_height_mm + 1.0  # in front of the rim plane
    ref = _oneil(bowl, z[beyond])

    e = max(abs(v) for v in phase_error_range(PPW, 3, "modified", "lumped", cfl=field.meta["cfl"], corrected=True))
    budget = 2 * np.pi / LAM * z[-1] * e + 0.0085 + 0.01
    linf = np.abs(fe[beyond] - ref).max() / ref.max()
    assert linf < budget, (linf, budget)

    z_fine = np.linspace(bowl.dome_height_mm + 1.0, z[-1], 4001)
    ref_fine = _oneil(bowl, z_fine)
    z_ref, p_ref = float(z_fine[np.argmax(ref_fine)]), float(ref_fine.max())
    z_fe, p_fe = _peak(z[beyond], fe[beyond])
    assert abs(p_fe / p_ref - 1) < budget, (p_fe, p_ref)
    assert abs(z_fe - z_ref) < H / 4, (z_fe, z_ref)
    assert field.meta["source"] == "bowl" and field.meta["points_per_wavelength"] == PPW
