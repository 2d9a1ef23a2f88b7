"""Single-element focused bowl transducers: geometry, validation and YAML presets.

A bowl is a spherical cap of radius of curvature ``R`` and aperture (rim) diameter ``2a``; its geometric focus lies at
``R`` from the apex along the axis. The dome height ``h = R - sqrt(R^2 - a^2)`` and the surface normal velocity
``u0 = p0 / (rho c)`` are the quantities O'Neil's closed form needs (see REFERENCE.md section 1).

Presets live in ``data/transducers/<name>.yaml`` (see the README there for sources); any YAML file with the same keys
works too.

Example:
    >>> from tfus.pipeline.transducers.bowl import load_transducer
    >>> t = load_transducer("itrusst-sc1")
    >>> t.radius_of_curvature_mm, t.aperture_diameter_mm, t.frequency_hz
    (64.0, 64.0, 500000.0)
    >>> round(t.dome_height_mm, 3), round(t.normal_velocity_m_s(), 4)
    (8.574, 0.04)
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.resources import data_path, preset_or_path

#: Plausible range for ultrasound neuromodulation / therapy sources; outside it the unit is almost surely wrong.
FREQUENCY_RANGE_HZ = (20e3, 20e6)

_NUMERIC = ("radius_of_curvature_mm", "aperture_diameter_mm", "frequency_hz", "source_amplitude_pa")
_TEXT = ("name", "description", "source")


@dataclass(frozen=True)
class BowlTransducer:
    """A spherically focused single-element transducer.

    Attributes:
        name: Short identifier (preset name or the YAML file stem).
        radius_of_curvature_mm: Radius of curvature ``R`` = distance apex -> geometric focus, in mm.
        aperture_diameter_mm: Rim diameter ``2a`` in mm; at most ``2R`` (a hemisphere).
        frequency_hz: Driving frequency in Hz (continuous wave).
        source_amplitude_pa: Pressure amplitude ``p0`` at the bowl surface in Pa.
        description: Free text.
        source: Where the numbers come from (paper, datasheet, config file).

    Example:
        >>> BowlTransducer("demo", 30.0, 30.0, 5e5, 6e4).aperture_radius_mm
        15.0
    """

    name: str
    radius_of_curvature_mm: float
    aperture_diameter_mm: float
    frequency_hz: float
    source_amplitude_pa: float
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        for key in _TEXT:
            value = getattr(self, key)
            if not isinstance(value, str):
                raise TfusInputError(f"transducer {key} must be text, got {type(value).__name__}; quote it in the YAML")
        if not self.name.strip():
            raise TfusInputError("transducer name is empty; give it a short name such as 'my-bowl'")
        for key in _NUMERIC:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TfusInputError(f"transducer {self.name}: {key} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise TfusInputError(f"transducer {self.name}: {key} must be a positive finite number, got {value!r}")
            object.__setattr__(self, key, float(value))
        r, d = self.radius_of_curvature_mm, self.aperture_diameter_mm
        if d > 2 * r * (1 + 1e-12):
            raise TfusInputError(f"transducer {self.name}: aperture_diameter_mm {d:g} exceeds twice the "
                                 f"radius_of_curvature_mm ({2 * r:g}); a bowl can be at most a hemisphere")
        lo, hi = FREQUENCY_RANGE_HZ
        if not lo <= self.frequency_hz <= hi:
            raise TfusInputError(f"transducer {self.name}: frequency_hz {self.frequency_hz:g} is outside "
                                 f"{lo:g}-{hi:g} Hz; give the frequency in Hz (e.g. 500000 for 500 kHz)")

    @property
    def aperture_radius_mm(self) -> float:
        """Rim radius ``a`` in mm."""
        return self.aperture_diameter_mm / 2.0

    @property
    def dome_height_mm(self) -> float:
        """Depth of the cap ``h = R - sqrt(R^2 - a^2)`` in mm (axial distance apex -> aperture plane)."""
        r, a = self.radius_of_curvature_mm, self.aperture_radius_mm
        return r - math.sqrt(max(r * r - a * a, 0.0))

    @property
    def half_angle_rad(self) -> float:
        """Half opening angle of the cap seen from the focus, ``asin(a / R)``."""
        return math.asin(min(self.aperture_radius_mm / self.radius_of_curvature_mm, 1.0))

    @property
    def f_number(self) -> float:
        """``R / (2a)``."""
        return self.radius_of_curvature_mm / self.aperture_diameter_mm

    def wavelength_mm(self, sound_speed_m_s: float = 1500.0) -> float:
        """Wavelength in mm in a medium of the given sound speed."""
        return sound_speed_m_s / self.frequency_hz * 1e3

    def normal_velocity_m_s(self, density_kg_m3: float = 1000.0, sound_speed_m_s: float = 1500.0) -> float:
        """Surface normal particle velocity ``u0 = p0 / (rho c)`` in m/s (water by default)."""
        if density_kg_m3 <= 0 or sound_speed_m_s <= 0:
            raise TfusInputError("density and sound speed must be positive to compute the normal velocity")
        return self.source_amplitude_pa / (density_kg_m3 * sound_speed_m_s)

    def to_dict(self) -> dict:
        """Plain dict with the YAML keys (round-trips through :meth:`from_dict`).

        Example:
            >>> bowl = BowlTransducer("demo", 30.0, 30.0, 5e5, 6e4)
            >>> BowlTransducer.from_dict(bowl.to_dict()) == bowl
            True
        """
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, *, default_name: str = "", origin: str = "transducer") -> BowlTransducer:
        """Build a bowl from a mapping with the YAML keys (parsed YAML, :meth:`to_dict`), with one-line errors
        naming the bad key.

        Numbers written as strings (PyYAML reads ``5e5`` without a dot as text) are accepted when they parse as
        floats; a missing or null ``name`` becomes ``default_name``.

        Example:
            >>> BowlTransducer.from_dict({"radius_of_curvature_mm": 30, "aperture_diameter_mm": 20,
            ...                           "frequency_hz": "5e5", "source_amplitude_pa": 6e4}, default_name="b").name
            'b'
        """
        if not isinstance(data, dict):
            raise TfusInputError(f"{origin}: expected a mapping of keys such as radius_of_curvature_mm, got "
                                 f"{type(data).__name__}; see data/transducers/itrusst-sc1.yaml for the format")
        allowed = allowed_keys()
        unknown = [str(k) for k in data if k not in allowed]
        if unknown:
            raise TfusInputError(f"{origin}: unknown key {unknown[0]!r}; allowed keys: {', '.join(allowed)}")
        missing = [k for k in _required_keys() if k not in data]
        if missing:
            raise TfusInputError(f"{origin}: missing key {missing[0]!r}; required keys: {', '.join(_required_keys())}")
        values = dict(data)
        values.setdefault("name", default_name)
        for key in _NUMERIC:
            value = values[key]
            if isinstance(value, str):
                try:
                    values[key] = float(value)
                except ValueError:
                    raise TfusInputError(f"{origin}: {key} must be a number, got {value!r}") from None
        for key in ("description", "source"):
            if values.get(key) is None:
                values[key] = ""
        if values["name"] is None:
            values["name"] = default_name
        return cls(**values)


def allowed_keys() -> tuple[str, ...]:
    """Keys a transducer YAML file may contain."""
    return tuple(f.name for f in fields(BowlTransducer))


def _required_keys() -> tuple[str, ...]:
    return _NUMERIC


def list_presets() -> list[str]:
    """Names of the bundled presets (``data/transducers/*.yaml``), sorted.

    Example:
        >>> "itrusst-sc1" in list_presets()
        True
    """
    folder = data_path("transducers")
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_transducer(name_or_path: str | Path) -> BowlTransducer:
    """Load a preset by name (``"itrusst-sc1"``) or a YAML file by path.

    Raises:
        TfusInputError: unknown preset (the message lists the available ones), unreadable file, bad YAML, unknown or
            missing keys, wrong types or invalid values.
    """
    if isinstance(name_or_path, BowlTransducer):
        return name_or_path
    path = preset_or_path(name_or_path, "transducers", "transducer")
    if not path.is_file():
        raise TfusInputError(f"transducer file {path} not found; pass an existing YAML file or one of the presets: "
                             f"{', '.join(list_presets())}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise TfusInputError(f"{path}: not valid YAML{line}; fix the syntax") from err
    except (OSError, UnicodeDecodeError) as err:
        raise TfusInputError(f"cannot read transducer file {path} ({type(err).__name__}); check the path") from err
    return BowlTransducer.from_dict(data, default_name=path.stem, origin=str(path))
