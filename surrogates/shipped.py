"""Models that ship with tfus, so ``tfus predict`` works right after install with no training run.

Each lives in ``data/models/<name>/`` (installed as ``tfus.data``): ``model.pt`` (a checkpoint from ``tfus train``,
loaded with ``torch.load(weights_only=True)``), ``model.yaml`` (what :func:`shipped_models` lists without loading
weights: the transducer, its geometry and frequency, the checkpoint's SHA-256) and ``MODEL_CARD.md`` (training data
and settings, held-out metrics, limits), plus the training config that reproduces it. ``tfus predict`` without a
RUN picks the shipped model trained for the requested transducer and frequency (:func:`shipped_model_for`); a
transducer no shipped model covers is a one-line error naming the models that exist.

Example:
    >>> from tfus.pipeline.transducers import load_transducer
    >>> [m.name for m in shipped_models()]                          # doctest: +SKIP
    ['beam-ctx250']
    >>> shipped_model_for(load_transducer("neurofus-ctx250")).checkpoint.name   # doctest: +SKIP
    'model.pt'
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.io.yaml_file import read_yaml
from tfus.pipeline.resources import data_path
from tfus.pipeline.transducers import BowlTransducer

__all__ = ["ShippedModel", "models_dir", "ship_run", "shipped_model_for", "shipped_models", "verify_checksum"]

@dataclass(frozen=True)
class ShippedModel:
    """One shipped model, as its ``model.yaml`` describes it.

    Attributes:
        name: folder name (``beam-ctx250``).
        folder: the model's folder.
        checkpoint: its ``model.pt``.
        transducer: the transducer preset it was trained for.
        radius_of_curvature_mm / aperture_diameter_mm: that bowl's geometry.
        frequency_hz: the trained frequency.
        sha256: checksum of ``model.pt``.
        summary: one line for listings.
    """

    name: str
    folder: Path
    checkpoint: Path
    transducer: str
    radius_of_curvature_mm: float
    aperture_diameter_mm: float
    frequency_hz: float
    sha256: str
    summary: str = ""

    def label(self) -> str:
        """``name (transducer at f kHz)`` for messages."""
        return f"{self.name} ({self.transducer} at {self.frequency_hz / 1e3:g} kHz)"

    def covers(self, transducer: BowlTransducer) -> bool:
        """Whether this model was trained for ``transducer``'s geometry and frequency (the tolerances with which a
        checkpoint accepts a transducer, :meth:`~tfus.surrogates.trained.TrainedData.check_transducer`)."""
        from tfus.surrogates.trained import FREQUENCY_TOL_REL, GEOMETRY_TOL_MM, GEOMETRY_TOL_REL, close

        return (close(transducer.radius_of_curvature_mm, self.radius_of_curvature_mm, GEOMETRY_TOL_REL,
                      GEOMETRY_TOL_MM)
                and close(transducer.aperture_diameter_mm, self.aperture_diameter_mm, GEOMETRY_TOL_REL,
                          GEOMETRY_TOL_MM)
                and close(transducer.frequency_hz, self.frequency_hz, FREQUENCY_TOL_REL))


def _read(folder: Path) -> ShippedModel:
    record = read_yaml(folder / "model.yaml", "shipped model record")
    if not isinstance(record, dict):
        raise TfusInputError(f"{folder / 'model.yaml'} is not a mapping; reinstall tfus")
    try:
        return ShippedModel(name=folder.name, folder=folder, checkpoint=folder / str(record.get("checkpoint",
                                                                                              "model.pt")),
                            transducer=str(record["transducer"]),
                            radius_of_curvature_mm=float(record["radius_of_curvature_mm"]),
                            aperture_diameter_mm=float(record["aperture_diameter_mm"]),
                            frequency_hz=float(record["frequency_hz"]), sha256=str(record["sha256"]),
                            summary=str(record.get("summary", "")))
    except (KeyError, TypeError, ValueError) as err:
        raise TfusInputError(f"{folder / 'model.yaml'} is malformed ({type(err).__name__}: {err}); reinstall "
                             "tfus") from None


def models_dir() -> Path:
    """Where shipped models live: ``$TFUS_MODELS_DIR`` when set (tests, site-wide model folders), else the
    installed ``data/models``."""
    env = os.environ.get("TFUS_MODELS_DIR")
    return Path(env) if env else data_path("models")


def shipped_models(root: Path | None = None) -> list[ShippedModel]:
    """Every shipped model (folders of :func:`models_dir` with a ``model.yaml``), sorted by name."""
    base = Path(root) if root is not None else models_dir()
    if not base.is_dir():
        return []
    return [_read(p) for p in sorted(base.iterdir()) if (p / "model.yaml").is_file()]


def verify_checksum(model: ShippedModel) -> Path:
    """The checkpoint path after checking it exists and matches its recorded SHA-256 (one-line error otherwise)."""
    path = model.checkpoint
    if not path.is_file():
        raise TfusInputError(f"the shipped model file {path} is missing; reinstall tfus (pip install --force-reinstall"
                             " tfus) or pass a training RUN")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != model.sha256:
        raise TfusInputError(f"the shipped model file {path} is corrupt (SHA-256 {digest[:12]}... does not match the "
                             f"recorded {model.sha256[:12]}...); reinstall tfus or pass a training RUN")
    return path


def shipped_model_for(transducer: BowlTransducer, root: Path | None = None) -> ShippedModel:
    """The shipped model trained for ``transducer`` (geometry and frequency), its checkpoint verified.

    Raises:
        TfusInputError: no shipped model covers it (the message names the ones that exist), or its file is missing
            or corrupt.
    """
    models = shipped_models(root)
    for model in models:
        if model.covers(transducer):
            verify_checksum(model)
            return model
    have = ", ".join(m.label() for m in models) or "none"
    raise TfusInputError(f"no shipped model for {transducer.name} at {transducer.frequency_hz / 1e3:g} kHz (shipped: "
                         f"{have}); pass a training RUN for it, or train one with `tfus train`")


def ship_run(run: str | Path, folder: str | Path, transducer: str, summary: str = "") -> ShippedModel:
    """Lay out a training run's ``best.pt`` as a shipped model in ``folder``: ``model.pt`` (the weights, model
    config, normalisation, training-data record and prior; no optimizer state) and ``model.yaml`` (transducer,
    geometry, frequency, SHA-256). The model card and training config are written by hand beside them.

    Args:
        run: training run folder or checkpoint.
        folder: the model's folder (created; ``data/models/<name>`` to ship it with tfus).
        transducer: the transducer preset name it serves.
        summary: one line for listings.
    """
    import yaml

    from tfus.surrogates.checkpoint import load_checkpoint, save_checkpoint
    from tfus.surrogates.trained import TrainedData

    ckpt = load_checkpoint(run)
    keep = ("model", "model_config", "normalization", "data", "train_config", "versions", "prior", "epoch",
            "metrics", "state_dict")
    payload = {k: ckpt[k] for k in keep if k in ckpt}
    data = TrainedData.from_mapping(payload["data"])
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "model.pt", payload)
    bowl = data.transducer()
    record = {"checkpoint": "model.pt", "transducer": transducer, "radius_of_curvature_mm":
              bowl.radius_of_curvature_mm, "aperture_diameter_mm": bowl.aperture_diameter_mm,
              "frequency_hz": data.frequency_hz,
              "sha256": hashlib.sha256((folder / "model.pt").read_bytes()).hexdigest(), "summary": summary}
    (folder / "model.yaml").write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    return _read(folder)
