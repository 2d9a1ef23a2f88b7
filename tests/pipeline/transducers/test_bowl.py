"""Bowl transducer definitions, presets and YAML loading."""

import math
from pathlib import Path

import pytest

from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.transducers import BowlTransducer, allowed_keys, list_presets, load_transducer


def test_itrusst_preset_matches_benchmark():
    t = load_transducer("itrusst-sc1")
    assert (t.radius_of_curvature_mm, t.aperture_diameter_mm) == (64.0, 64.0)
    assert t.frequency_hz == 500e3 and t.source_amplitude_pa == 60e3
    assert "Aubry" in t.source and "152" in t.source
    assert t.normal_velocity_m_s(1000.0, 1500.0) == pytest.approx(0.04)  # u0 of the benchmark
    assert t.dome_height_mm == pytest.approx(64 - math.sqrt(64**2 - 32**2))
    assert t.aperture_radius_mm == 32.0 and t.wavelength_mm() == pytest.approx(3.0)


def test_every_preset_loads_and_names_its_source():
    presets = list_presets()
    assert len(presets) >= 3 and "itrusst-sc1" in presets
    for name in presets:
        t = load_transducer(name)
        assert t.name == name and t.source.strip()
        assert 0 < t.dome_height_mm <= t.radius_of_curvature_mm
    readme = (Path(__file__).resolve().parents[3] / "data" / "transducers" / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in presets)


def test_load_from_path_and_default_name(tmp_path):
    f = tmp_path / "my-bowl.yaml"
    f.write_text("radius_of_curvature_mm: 30\naperture_diameter_mm: 20\nfrequency_hz: 5e5\nsource_amplitude_pa: 1e4\n")
    t = load_transducer(f)
    assert t.name == "my-bowl" and t.frequency_hz == 5e5 and isinstance(t.radius_of_curvature_mm, float)
    assert load_transducer(str(f)) == t


def test_unknown_key_names_it_and_the_allowed_ones(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\nradius_of_curvature_mm: 30\naperture_diameter_mm: 20\nfrequency_hz: 500000\n"
                 "source_amplitude_pa: 1000\nfocal_lenght_mm: 30\n")
    with pytest.raises(TfusInputError, match="focal_lenght_mm") as err:
        load_transducer(f)
    assert all(k in str(err.value) for k in allowed_keys()) and "\n" not in str(err.value)


@pytest.mark.parametrize("body, match", [
    ("radius_of_curvature_mm: 30\naperture_diameter_mm: 20\nfrequency_hz: 500000\n", "source_amplitude_pa"),
    ("radius_of_curvature_mm: thirty\naperture_diameter_mm: 20\nfrequency_hz: 500000\nsource_amplitude_pa: 1\n",
     "radius_of_curvature_mm must be a number"),
    ("radius_of_curvature_mm: [30]\naperture_diameter_mm: 20\nfrequency_hz: 500000\nsource_amplitude_pa: 1\n",
     "radius_of_curvature_mm must be a number"),
    ("radius_of_curvature_mm: -30\naperture_diameter_mm: 20\nfrequency_hz: 500000\nsource_amplitude_pa: 1\n",
     "positive"),
    ("radius_of_curvature_mm: 10\naperture_diameter_mm: 30\nfrequency_hz: 500000\nsource_amplitude_pa: 1\n",
     "hemisphere"),
    ("radius_of_curvature_mm: 30\naperture_diameter_mm: 20\nfrequency_hz: 500\nsource_amplitude_pa: 1\n", "in Hz"),
    ("radius_of_curvature_mm: 30\naperture_diameter_mm: 20\nfrequency_hz: true\nsource_amplitude_pa: 1\n",
     "frequency_hz must be a number"),
    ("name: [a]\nradius_of_curvature_mm: 30\naperture_diameter_mm: 20\nfrequency_hz: 5.0e5\nsource_amplitude_pa: 1\n",
     "name must be text"),
    ("- 1\n- 2\n", "expected a mapping"),
    ("radius_of_curvature_mm: [30\n", "not valid YAML"),
])
def test_bad_yaml_values_give_one_line_errors(tmp_path, body, match):
    f = tmp_path / "t.yaml"
    f.write_text(body)
    with pytest.raises(TfusInputError, match=match) as err:
        load_transducer(f)
    assert "\n" not in str(err.value)


def test_unknown_preset_lists_available():
    with pytest.raises(TfusInputError, match="itrusst-sc1"):
        load_transducer("no-such-bowl")
    with pytest.raises(TfusInputError, match="not found"):
        load_transducer("/nonexistent/bowl.yaml")


def test_direct_validation():
    assert BowlTransducer("hemi", 20.0, 40.0, 5e5, 1.0).dome_height_mm == pytest.approx(20.0)
    with pytest.raises(TfusInputError, match="name"):
        BowlTransducer(" ", 20.0, 10.0, 5e5, 1.0)
    with pytest.raises(TfusInputError, match="aperture_diameter_mm"):
        BowlTransducer("x", 20.0, 0.0, 5e5, 1.0)
    with pytest.raises(TfusInputError, match="source_amplitude_pa"):
        BowlTransducer("x", 20.0, 10.0, 5e5, float("nan"))


@pytest.mark.parametrize("name", list_presets())
def test_to_dict_from_dict_round_trip(name):
    bowl = load_transducer(name)
    data = bowl.to_dict()
    assert set(data) == set(allowed_keys())
    assert BowlTransducer.from_dict(data) == bowl
    assert BowlTransducer.from_dict(data).to_dict() == data


def test_from_dict_names_the_bad_key_and_fills_defaults():
    bowl = BowlTransducer.from_dict({"radius_of_curvature_mm": "30", "aperture_diameter_mm": 20, "frequency_hz": 5e5,
                                     "source_amplitude_pa": 6e4, "name": None, "description": None}, default_name="b")
    assert (bowl.name, bowl.radius_of_curvature_mm, bowl.description) == ("b", 30.0, "")
    with pytest.raises(TfusInputError, match="unknown key 'aperture_mm'"):
        BowlTransducer.from_dict({**bowl.to_dict(), "aperture_mm": 20})
    with pytest.raises(TfusInputError, match="missing key 'frequency_hz'"):
        BowlTransducer.from_dict({k: v for k, v in bowl.to_dict().items() if k != "frequency_hz"})
    with pytest.raises(TfusInputError, match="expected a mapping"):
        BowlTransducer.from_dict([1, 2])
