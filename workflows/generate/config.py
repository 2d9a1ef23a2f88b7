"""The dataset-generation config (YAML), validated at the boundary: unknown keys, wrong types and missing inputs are
one-line errors naming the key and what is allowed.

A config names the heads (image files or bundled heads), the common grid, the transducer, how many poses per head,
the simulation settings, the head split and the cluster. Relative image paths are relative to the YAML file.

Example:
    >>> cfg = GenerateConfig.from_mapping({
    ...     "heads": [{"name": "mni", "image": "bundled:mni152_t1"}],
    ...     "grid": {"shape": [64, 64, 64], "spacing_mm": 3.0},
    ...     "transducer": "neurofus-ctx250", "poses": {"per_head": 2}})
    >>> cfg.n_samples
    2
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tfus.pipeline.errors import TfusInputError, dataclass_from_mapping, validation_message
from tfus.pipeline.io.yaml_file import read_yaml
from tfus.workflows.cluster import ClusterConfig

BUNDLED = "bundled:"
_FROZEN = ConfigDict(extra="forbid", frozen=True)


class HeadSource(BaseModel):
    """One head: a unique name and an image (path, or ``bundled:NAME`` for a head shipped/built with tfus)."""

    model_config = _FROZEN
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    image: str
    modality: Literal["auto", "ct", "t1"] = "auto"


class GridConfig(BaseModel):
    """The dataset's common grid: every head is built at ``spacing_mm`` and centred on ``shape`` voxels."""

    model_config = _FROZEN
    shape: tuple[int, int, int]
    spacing_mm: float = Field(gt=0.05, le=4.0)

    @field_validator("shape", mode="before")
    @classmethod
    def _three(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or len(value) != 3:
            raise ValueError(f"expected three voxel counts [X, Y, Z], got {value!r}")
        return value

    @field_validator("shape")
    @classmethod
    def _positive(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if min(value) < 8:
            raise ValueError(f"grid shape {list(value)} too small; use at least 8 voxels per axis")
        return value


class PoseConfig(BaseModel):
    """Transducer poses sampled over each cranium (see :func:`tfus.pipeline.transducers.sample_poses`)."""

    model_config = _FROZEN
    per_head: int = Field(ge=1)
    aim: Literal["normal", "brain-centre"] = "brain-centre"
    standoff_mm: float = Field(3.0, ge=0)
    clearance_mm: float = Field(1.0, ge=0)
    max_standoff_mm: float = Field(30.0, gt=0)
    max_angle_deg: float = Field(45.0, gt=0, le=90)


class SimulationConfig(BaseModel):
    """Engine settings for every sample. ``kwave`` holds :class:`~tfus.pipeline.engines.kwave.config.KWaveConfig`
    fields (e.g. ``cfl``, ``pml_size``, ``domain_crossings``, ``snapshots``)."""

    model_config = _FROZEN
    engine: Literal["kwave", "fem"] = "kwave"
    device: Literal["cpu", "gpu"] = "cpu"
    frequency_hz: float | None = Field(None, gt=0)
    mapping: str = "itrusst"
    coupling: Literal["water", "brain"] = "water"
    with_phase: bool = True
    kwave: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kwave")
    @classmethod
    def _kwave_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        from tfus.pipeline.engines.kwave.config import KWaveConfig

        try:
            dataclass_from_mapping(KWaveConfig, value, where="kwave", hidden=("device",))
        except TfusInputError as err:  # pydantic names the location (simulation.kwave)
            raise ValueError(str(err).removeprefix("kwave: ")) from None
        return value

    @property
    def snapshots(self) -> int:
        return int(self.kwave.get("snapshots", 0)) if self.engine == "kwave" else 0


class BoxConfig(BaseModel):
    """The beam box of ``frame: beam`` datasets (:class:`tfus.pipeline.beam.BeamBox`): mm beyond the aperture
    radius on each side, behind the apex and past the geometric focus."""

    model_config = _FROZEN
    lateral_margin_mm: float = Field(10.0, ge=0)
    behind_mm: float = Field(5.0, ge=0)
    beyond_focus_mm: float = Field(30.0, ge=0)

    def beam_box(self):
        from tfus.pipeline.beam import BeamBox

        return BeamBox(self.lateral_margin_mm, self.behind_mm, self.beyond_focus_mm)


class SplitConfig(BaseModel):
    """Head-level split: fractions of heads for validation and test (seeded), or explicit head names. Every head is
    in exactly one split."""

    model_config = _FROZEN
    val: float = Field(0.0, ge=0, lt=1)
    test: float = Field(0.0, ge=0, lt=1)
    names: dict[Literal["train", "val", "test"], tuple[str, ...]] | None = None

    @model_validator(mode="after")
    def _sum(self) -> SplitConfig:
        if self.val + self.test >= 1:
            raise ValueError(f"val {self.val} + test {self.test} leave no training heads; lower them")
        return self


def _range(value: Any) -> Any:
    """A number or ``[low, high]`` -> ``(low, high)``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, list | tuple) and len(value) == 2:
        return tuple(value)
    raise ValueError(f"expected a number or a range [low, high], got {value!r}")


_RANGE_KEYS = ("elastic_amplitude_mm", "thickness_mm", "hu_scale", "porosity_hu_std")


class AugmentConfig(BaseModel):
    """Skull augmentation of the training heads (:func:`tfus.pipeline.head.augment_head`): ``copies`` augmented heads
    per training head, each with parameters drawn uniformly from the ranges (a number is a fixed value) and its own
    seed, derived from the dataset seed, the head and the copy. Validation and test heads are never augmented."""

    model_config = _FROZEN
    copies: int = Field(ge=1, le=100)
    elastic_amplitude_mm: tuple[float, float] = (0.0, 0.0)
    elastic_length_mm: float = Field(25.0, gt=0)
    thickness_mm: tuple[float, float] = (0.0, 0.0)
    hu_scale: tuple[float, float] = (1.0, 1.0)
    porosity_hu_std: tuple[float, float] = (0.0, 0.0)
    porosity_length_mm: float = Field(4.0, gt=0)

    @field_validator(*_RANGE_KEYS, mode="before")
    @classmethod
    def _as_range(cls, value: Any) -> Any:
        return _range(value)

    @model_validator(mode="after")
    def _valid(self) -> AugmentConfig:
        for name in _RANGE_KEYS:
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"augment.{name}: range [{low:g}, {high:g}] is empty; give [low, high]")
        for end in (0, 1):  # every constraint is monotone in each parameter: both corners cover the box
            try:
                self.augmentation({name: getattr(self, name)[end] for name in _RANGE_KEYS})
            except TfusInputError as err:
                raise ValueError(f"augment: {err}") from None
        return self

    def augmentation(self, values: Mapping[str, float]):
        """The :class:`~tfus.pipeline.head.SkullAugmentation` with the range parameters set to ``values``."""
        from tfus.pipeline.head.augment import SkullAugmentation

        return SkullAugmentation(elastic_length_mm=self.elastic_length_mm,
                                 porosity_length_mm=self.porosity_length_mm, **values)

    def draw(self, seed: int):
        """The augmentation of the copy with ``seed``: each range sampled uniformly (seeded, reproducible)."""
        import numpy as np

        rng = np.random.default_rng([int(seed), 1])  # a stream apart from augment_head's default_rng(seed)
        return self.augmentation({name: float(rng.uniform(*getattr(self, name))) for name in _RANGE_KEYS})


class GenerateConfig(BaseModel):
    """A dataset: heads x poses simulated on one grid into one store."""

    model_config = _FROZEN
    name: str = "dataset"
    seed: int = 0
    heads: tuple[HeadSource, ...] = Field(min_length=1)
    grid: GridConfig
    transducer: str
    poses: PoseConfig
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    frame: Literal["grid", "beam"] = "grid"  # beam: each sample simulated and stored in its beam box
    box: BoxConfig = Field(default_factory=BoxConfig)
    splits: SplitConfig = Field(default_factory=SplitConfig)
    augment: AugmentConfig | None = None  # augmented copies of the training heads (never val / test)
    retries: int = Field(2, ge=0)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    base_dir: str = "."  # folder relative image paths are resolved against (the YAML's folder); set by load

    @field_validator("cluster", mode="before")
    @classmethod
    def _cluster(cls, value: Any) -> Any:
        return ClusterConfig.from_mapping(value) if isinstance(value, Mapping) or value is None else value

    @model_validator(mode="after")
    def _unique(self) -> GenerateConfig:
        names = [h.name for h in self.heads]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"head names must be unique; repeated: {', '.join(dup)}")
        if self.splits.names is not None:
            listed = [n for group in self.splits.names.values() for n in group]
            unknown = sorted(set(listed) - set(names))
            missing = sorted(set(names) - set(listed))
            twice = sorted({n for n in listed if listed.count(n) > 1})
            if unknown or missing or twice:
                raise ValueError(f"splits.names must list every head exactly once (unknown: {unknown or '-'}, "
                                 f"missing: {missing or '-'}, repeated: {twice or '-'})")
        if self.augment is not None:
            copies = range(1, self.augment.copies + 1)
            taken = sorted(set(names) & {augmented_name(n, k) for n in names for k in copies})
            if taken:
                raise ValueError(f"augment: head names {', '.join(taken)} are reserved for augmented copies; rename "
                                 "those heads")
        return self

    @property
    def n_samples(self) -> int:
        """Samples in the store: every head (augmented copies included) x poses per head."""
        from tfus.workflows.generate.plan import planned_heads

        return len(planned_heads(self)) * self.poses.per_head

    @classmethod
    def from_mapping(cls, data: Any, base_dir: str | Path = ".") -> GenerateConfig:
        """Validate a parsed YAML document; every problem becomes one :class:`TfusInputError` line."""
        if not isinstance(data, Mapping):
            raise TfusInputError(f"the config must be a YAML mapping of settings, got {type(data).__name__}")
        try:
            return cls.model_validate({**data, "base_dir": str(base_dir)})
        except ValidationError as err:
            raise TfusInputError(validation_message(err, GenerateConfig, limit=3, hidden=("base_dir",))) from None

    def image_path(self, head: HeadSource) -> Path:
        """Resolve a head's image: ``bundled:NAME`` or a path (relative to the YAML's folder)."""
        if head.image.startswith(BUNDLED):
            from tfus.pipeline.resources import bundled_heads

            available = bundled_heads()
            key = head.image[len(BUNDLED):]
            if key not in available:
                raise TfusInputError(f"head {head.name}: no bundled head {key!r}; available: "
                                     f"{', '.join(sorted(available))} (run `bash data/setup.sh` to build the others)")
            return available[key]
        path = Path(head.image).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path

    def check_inputs(self) -> None:
        """Every head image exists, the transducer loads: fail before anything is written."""
        from tfus.pipeline.transducers import load_transducer

        for head in self.heads:
            path = self.image_path(head)
            if not path.exists():
                raise TfusInputError(f"head {head.name}: image {path} not found; fix heads[].image in the config")
        load_transducer(self.transducer)

    def public(self) -> dict:
        """The config as plain JSON (recorded in the store), without the machine-specific ``base_dir``."""
        return self.model_dump(mode="json", exclude={"base_dir"})


def augmented_name(name: str, copy: int) -> str:
    """Store name of augmented copy ``copy`` (1, 2, ...) of head ``name``: ``mni152_aug1``."""
    return f"{name}_aug{copy}"


def load_config(path: str | Path) -> GenerateConfig:
    """Read and validate a generation YAML (``yaml.safe_load``), or a preset name from ``data/datasets/``."""
    path = resolve_config_path(path)
    data = read_yaml(path, "dataset config")
    return GenerateConfig.from_mapping(data, base_dir=path.parent)


def resolve_config_path(path: str | Path) -> Path:
    """A YAML path, or the name of a bundled preset (``demo``, ``tfuscapes-like``)."""
    from tfus.pipeline.resources import data_path

    p = Path(path)
    if p.is_file():
        return p
    preset = data_path("datasets", f"{p.name.removesuffix('.yaml')}.yaml")
    if p.parent == Path(".") and preset.is_file():
        return preset
    presets = sorted(q.stem for q in data_path("datasets").glob("*.yaml"))
    raise TfusInputError(f"config {path} not found; give a YAML file or a preset ({', '.join(presets)})")
