"""``tfus predict --verify``: check a prediction against the k-Wave simulation its model was trained to replace.

The simulation is set up exactly like the model's training samples (:class:`~tfus.surrogates.trained.TrainedData`:
the same frame and beam box, spacing, frequency, HU mapping, coupling and k-Wave settings, read from the checkpoint),
so the difference is the surrogate's error and nothing else. A beam-frame model is compared in its box (where both
fields live before being mapped back to the head grid); a whole-head model on the head grid.

Example:
    >>> result = predict_field(None, "heads/colin", pose, transducer="neurofus-ctx250")   # doctest: +SKIP
    >>> check = verify_prediction(result)                                                   # doctest: +SKIP
    >>> sorted(check.record)                                                                # doctest: +SKIP
    ['focal_dice', 'focal_error_mm', 'peak_error', 'predict_s', 'rel_l2', 'simulate_s', 'speedup']
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tfus.pipeline.engines.field import SteadyStateField
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, Pose
from tfus.surrogates.inference import FieldPrediction
from tfus.surrogates.metrics import sample_metrics
from tfus.surrogates.trained import TrainedData

__all__ = ["Verification", "simulation_request_for", "training_simulation_request", "verify_prediction"]


@dataclass(frozen=True, eq=False)
class Verification:
    """The simulated field on the head grid (``field``, written as ``FIELD_sim.nii.gz``) and the ``verify`` record:
    ``rel_l2`` (fraction), ``focal_error_mm``, ``peak_error`` (signed fraction, prediction / simulation - 1),
    ``focal_dice`` (-6 dB), ``predict_s``, ``simulate_s`` and their ratio ``speedup``; a beam-frame check also keeps
    the simulated amplitude in the box (``box_amplitude``, Pa, on the prediction's ``frame``), where it was compared."""

    field: SteadyStateField
    record: dict
    box_amplitude: np.ndarray | None = None


def training_simulation_request(trained: TrainedData, transducer: BowlTransducer, pose: Pose, head):
    """The :class:`~tfus.pipeline.engines.run.SimulationRequest` that simulates ``pose`` on ``head`` (folder or
    :class:`~tfus.pipeline.head.model.HeadModel`) as the model's training samples were simulated."""
    from tfus.pipeline.beam import BeamBox
    from tfus.pipeline.engines.kwave.config import KWaveConfig
    from tfus.pipeline.engines.run import SimulationRequest

    sim = dict(trained.raw.get("simulation") or {})
    if sim.get("engine", "kwave") != "kwave":
        raise TfusInputError(f"--verify re-runs k-Wave; this model was trained on {sim.get('engine')!r} fields")
    try:
        kwave = KWaveConfig(**dict(sim.get("kwave") or {}))
    except TypeError as err:
        raise TfusInputError(f"the checkpoint's k-Wave settings are unreadable ({err}); re-train the model") from None
    beam = trained.raw.get("frame") == "beam"
    return SimulationRequest(transducer=transducer, pose=pose, head=head, spacing_mm=trained.spacing_mm,
                             engine="kwave", mapping=trained.hu_mapping, coupling=str(sim.get("coupling", "water")),
                             kwave=kwave, frame="beam" if beam else "grid",
                             box=BeamBox(**dict(trained.raw.get("box") or {})) if beam else BeamBox())


def simulation_request_for(result: FieldPrediction):
    """:func:`training_simulation_request` for the pose, head and transducer of a prediction."""
    if result.trained is None:
        raise TfusInputError("this prediction does not record what its model was trained on; re-run predict")
    return training_simulation_request(result.trained, result.transducer, result.pose, result.head)


def verify_prediction(result: FieldPrediction, progress: Callable[[int, int], None] | None = None) -> Verification:
    """Simulate the pose of ``result`` as the model's training data were simulated and compare (module docstring)."""
    from tfus.pipeline.engines.run import run_simulation

    request = simulation_request_for(result)
    t0 = time.perf_counter()
    sim = run_simulation(request, progress)
    simulate_s = time.perf_counter() - t0
    on_grid, _ = sim.on_head_grid()
    pred = result.prediction
    in_box = sim.frame is not None and pred.box_pressure is not None
    if in_box:
        p, t, affine = pred.box_pressure, np.asarray(sim.field.amplitude, np.float32), np.asarray(sim.frame.affine)
    else:
        p, t, affine = pred.pressure, np.asarray(on_grid.amplitude, np.float32), np.asarray(on_grid.affine)
    if p.shape != t.shape:
        raise TfusInputError(f"prediction {p.shape} and simulation {t.shape} are on different grids; the model's "
                             "training record does not match this tfus; re-train it")
    m = sample_metrics(p, t, affine=affine)
    record = {"rel_l2": m["rel_l2_percent"] / 100, "focal_error_mm": m["focal_error_mm"],
              "peak_error": m["peak_pred_pa"] / m["peak_true_pa"] - 1.0, "focal_dice": m["focal_dice"],
              "predict_s": pred.seconds, "simulate_s": simulate_s,
              "speedup": simulate_s / pred.seconds if pred.seconds > 0 else None,
              "compared_on": "beam box" if in_box else "head grid"}
    return Verification(field=on_grid, record=record, box_amplitude=t if in_box else None)
