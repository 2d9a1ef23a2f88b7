"""One shared case against BabelBrain's bioheat solver (``BabelViscoFDTD.tools.RayleighAndBHTE.BHTE``).

BabelViscoFDTD is not a tfus dependency. Its BHTE solver is an explicit finite-difference scheme with OpenCL, CUDA,
Metal and MLX back-ends (no plain-CPU one); on a CPU it runs through OpenCL with PoCL. To reproduce, in a separate
environment::

    python -m venv --system-site-packages /tmp/bvenv
    /tmp/bvenv/bin/pip install babelviscofdtd pyopencl pocl-binary-distribution h5py hdf5plugin pydicom
    /tmp/bvenv/bin/python -m tfus.pipeline.safety.compare_babelviscofdtd   # with tfus importable (PYTHONPATH)

The case: homogeneous brain (IT'IS values, perfused), a Gaussian heat source of sigma = 2 mm from a focal pressure
field, 0.5 mm voxels, 49^3 box, 40 s continuous sonication then 20 s cooling; BabelViscoFDTD at its default
dt = 0.1 s, tfus at dt = 0.1 s and at its default 0.5 s. Both get the identical heat map (BabelViscoFDTD's
``p^2 (1 - exp(-2 h alpha)) / (2 rho c h)``). Printed: the focal rise at the end of the sonication and the largest
difference of the final temperature maps, in % of the peak rise.
"""

from __future__ import annotations

import numpy as np

from tfus.pipeline.safety.bioheat import ThermalSettings, solve_bioheat
from tfus.pipeline.safety.tissues import BLOOD_DENSITY, BLOOD_SPECIFIC_HEAT, THERMAL_TISSUES
from tfus.pipeline.safety.validation import continuous_protocol


def main() -> None:  # pragma: no cover - needs BabelViscoFDTD + an OpenCL device
    from BabelViscoFDTD.tools import RayleighAndBHTE as bhte

    brain = THERMAL_TISSUES[4]
    n, h, sigma, sound_speed, alpha_np_m, dt = 49, 0.5e-3, 2e-3, 1560.0, 1.0, 0.1
    c = (np.arange(n) - n // 2) * h
    r2 = c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2
    pressure = (1.2e6 * np.exp(-r2 / (4 * sigma**2))).astype(np.float32)
    materials = {"Density": np.array([brain.density]), "SoS": np.array([sound_speed]),
                 "Attenuation": np.array([alpha_np_m]), "SpecificHeat": np.array([brain.specific_heat]),
                 "Conductivity": np.array([brain.conductivity]), "Perfusion": np.array([brain.perfusion_ml_min_kg]),
                 "Absorption": np.array([1.0]), "InitTemperature": np.array([37.0])}
    bhte.InitOpenCL(DeviceName="")
    on_steps, total_steps = int(40 / dt), int(60 / dt)
    temp, dose, monitor, _ = bhte.BHTE(pressure, np.zeros((n, n, n), np.uint32), materials, h, total_steps, on_steps,
                                       n // 2, dt=dt, blood_rho=BLOOD_DENSITY, blood_ct=BLOOD_SPECIFIC_HEAT,
                                       Backend="OpenCL")
    focus_bvf = float(monitor[n // 2, n // 2, on_steps - 1]) - 37.0
    heat = pressure.astype(np.float64) ** 2 * (1 - np.exp(-2 * h * alpha_np_m)) / (2 * brain.density * sound_speed * h)
    ones = np.ones(heat.shape)
    for step in (0.1, 0.5):
        sol = solve_bioheat(heat, ones * brain.heat_capacity, ones * brain.conductivity, ones * brain.perfusion_w_m3_k,
                            (h,) * 3, continuous_protocol(40.0),
                            ThermalSettings(max_time_step_s=step, steps_per_train=1, cooling_s=20.0))
        focus = float(sol.max_rise_c[n // 2, n // 2, n // 2])
        diff = np.abs(sol.final_rise_c - (temp - 37.0)).max() / focus
        print(f"dt {step:g} s: focal rise at 40 s tfus {focus:.4f} K, BabelViscoFDTD {focus_bvf:.4f} K "
              f"({100 * (focus - focus_bvf) / focus_bvf:+.3f} %); final maps differ by <= {100 * diff:.3f} % of the "
              f"peak; CEM43 max tfus {sol.cem43_min.max():.4g} min, BabelViscoFDTD {dose.max() / 60:.4g} min")


if __name__ == "__main__":  # pragma: no cover
    main()
