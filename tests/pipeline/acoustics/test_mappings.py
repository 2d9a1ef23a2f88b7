"""HU -> acoustic property mappings checked against published values (not against the code's own output)."""

from __future__ import annotations

import numpy as np
import pytest

from tfus.pipeline.acoustics import (
    MAPPINGS,
    AcousticProperties,
    convert_alpha_coeff,
    list_mappings,
    map_properties,
)
from tfus.pipeline.errors import TfusInputError
from tfus.pipeline.head.labels import Label

# k-Wave hounsfield2density (Schneider fit), segments over the CT number n = HU + 1000, published coefficients.
_KWAVE_SEGMENTS = [  # (upper bound of n, slope, intercept)
    (930.0, 1.025793065681423, -5.680404011488714),
    (1098.0, 0.9082709691264, 103.6151457847139),
    (1260.0, 0.5108369316599, 539.9977189228704),
    (np.inf, 0.6625370912451, 348.8555178455294),
]


def kwave_published_density(hu: float) -> float:
    n = hu + 1000.0
    for upper, slope, intercept in _KWAVE_SEGMENTS:
        if n <= upper:
            return slope * n + intercept
    raise AssertionError("unreachable")


def mast_sound_speed(rho: float) -> float:
    return (rho + 349.0) / 0.893  # Mast 2000, as in k-Wave hounsfield2soundspeed


# ITRUSST benchmark (Aubry et al., JASA 152:1003, 2022) media at 500 kHz: c [m/s], rho [kg/m^3], alpha [dB/cm].
ITRUSST_TABLE = {
    Label.BACKGROUND: (1500.0, 1000.0, 0.0),
    Label.SCALP: (1610.0, 1090.0, 0.2),
    Label.CORTICAL: (2800.0, 1850.0, 4.0),
    Label.TRABECULAR: (2300.0, 1700.0, 8.0),
    Label.BRAIN: (1560.0, 1040.0, 0.3),
}
WATER = (1500.0, 1000.0, 0.0)


# --- registry ---------------------------------------------------------------------------------------------------

def test_registry_lists_the_three_mappings() -> None:
    assert list_mappings() == ["itrusst", "kwave", "porosity"]
    assert set(MAPPINGS) == set(list_mappings())


def test_unknown_mapping_is_a_one_line_input_error_listing_valid_names() -> None:
    with pytest.raises(TfusInputError) as info:
        map_properties(np.zeros(2), None, "schneider")
    message = str(info.value)
    assert "\n" not in message and "'schneider'" in message
    for name in list_mappings():
        assert name in message
    with pytest.raises(TfusInputError):
        map_properties(np.zeros(2), None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("mapping", ["itrusst", "kwave", "porosity"])
def test_float32_maps_of_input_shape(mapping: str) -> None:
    labels = np.array([0, 1, 2, 3, 4, 4], np.uint8).reshape(2, 3, 1)
    hu = np.array([-1000, 40, 1600, 700, 30, 10], np.int16).reshape(2, 3, 1)
    props = map_properties(hu, labels, mapping)
    assert isinstance(props, AcousticProperties) and props.mapping == mapping and props.alpha_power == 2.0
    for array in (props.sound_speed, props.density, props.alpha_coeff):
        assert array.dtype == np.float32 and array.shape == (2, 3, 1)
        assert np.isfinite(array).all()


@pytest.mark.parametrize("mapping", ["itrusst", "kwave", "porosity"])
def test_air_and_outliers_are_clipped(mapping: str) -> None:
    """HU -1024 (scanner padding) and -500 (sinus air) become coupling water; 5000 HU behaves like the 3000 HU clip."""
    hu = np.array([-1024.0, -500.0, 5000.0, 3000.0])
    labels = np.array([Label.BACKGROUND, Label.TRABECULAR, Label.CORTICAL, Label.CORTICAL])
    props = map_properties(hu, labels, mapping)
    for i in (0, 1):
        assert props.sound_speed[i] == WATER[0] and props.density[i] == WATER[1] and props.alpha_coeff[i] == 0.0
    for array in (props.sound_speed, props.density, props.alpha_coeff):
        assert array[2] == array[3]


def test_invalid_inputs_are_input_errors() -> None:
    with pytest.raises(TfusInputError, match="labels"):
        map_properties(np.zeros((2, 2)), np.zeros((2, 3)), "kwave")
    with pytest.raises(TfusInputError, match="unknown label values"):
        map_properties(np.zeros(2), np.array([4, 9]), "porosity")
    with pytest.raises(TfusInputError, match="NaN"):
        map_properties(np.array([0.0, np.nan]), None, "kwave")
    with pytest.raises(TfusInputError, match="numeric"):
        map_properties(np.array(["a", "b"]), None, "kwave")


# --- itrusst --------------------------------------------------------------------------------------------------

def test_itrusst_table_values_per_label() -> None:
    labels = np.array(list(ITRUSST_TABLE), np.uint8)
    props = map_properties(np.zeros(labels.shape), labels, "itrusst")
    absorption = props.absorption_db_cm(500e3)
    for i, (c, rho, alpha) in enumerate(ITRUSST_TABLE.values()):
        assert props.sound_speed[i] == c
        assert props.density[i] == rho
        assert absorption[i] == pytest.approx(alpha, rel=1e-6, abs=1e-9)


def test_itrusst_needs_labels() -> None:
    with pytest.raises(TfusInputError, match="labels"):
        map_properties(np.zeros(3), None, "itrusst")


# --- kwave ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("hu", [-150.0, 0.0, 50.0, 200.0, 700.0, 1500.0])
def test_kwave_density_and_sound_speed_follow_published_fit(hu: float) -> None:
    props = map_properties(np.array([hu]), None, "kwave")
    rho = kwave_published_density(hu)
    assert props.density[0] == pytest.approx(rho, rel=1e-6)
    assert props.sound_speed[0] == pytest.approx(mast_sound_speed(rho), rel=1e-6)


def test_kwave_water_is_near_1000() -> None:
    props = map_properties(np.array([0.0]), None, "kwave")
    assert props.density[0] == pytest.approx(1011.886, abs=1e-3)  # 0.90827 * 1000 + 103.6: ~1 % fit error
    assert props.sound_speed[0] == pytest.approx((1011.886 + 349.0) / 0.893, abs=1e-2)


def test_kwave_absorption_skull_and_soft_tissue() -> None:
    hu = np.array([30.0, 1200.0, 30.0, 200.0])
    labels = np.array([Label.BRAIN, Label.CORTICAL, Label.TRABECULAR, Label.SCALP])
    props = map_properties(hu, labels, "kwave")
    assert props.alpha_coeff[1] == pytest.approx(13.3) and props.alpha_coeff[2] == pytest.approx(13.3)
    # brain 0.59 dB/(MHz^1.2 cm) (IT'IS via k-Wave skull2medium) at 500 kHz = 0.59 * 0.5**1.2 dB/cm
    soft = props.absorption_db_cm(500e3)
    assert soft[0] == pytest.approx(0.59 * 0.5**1.2, rel=1e-6) and soft[3] == soft[0]
    # without labels bone is HU >= 300
    no_labels = map_properties(np.array([299.0, 300.0]), None, "kwave").alpha_coeff
    assert no_labels[0] != pytest.approx(13.3) and no_labels[1] == pytest.approx(13.3)


# --- porosity -------------------------------------------------------------------------------------------------

def test_porosity_solid_bone_at_and_above_hu_max() -> None:
    props = map_properties(np.array([2000.0, 2600.0]), None, "porosity")
    np.testing.assert_array_equal(props.density, [2200.0, 2200.0])  # Aubry 2003 rho_bone
    np.testing.assert_array_equal(props.sound_speed, [3100.0, 3100.0])  # Aubry 2003 c_bone
    # alpha_min = 0.2 dB/mm at 1 MHz, linear law -> 1 dB/cm at 500 kHz
    np.testing.assert_allclose(props.absorption_db_cm(500e3), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(props.alpha_coeff, [4.0, 4.0], rtol=1e-6)  # stored with y = 2: 1 / 0.5**2


def test_porosity_one_gives_water_density_and_speed() -> None:
    """phi = 1 (bone voxel at or below water HU): water rho and c; absorption alpha_max (8 dB/mm at 1 MHz)."""
    hu = np.array([0.0, -100.0])
    labels = np.array([Label.TRABECULAR, Label.CORTICAL])
    props = map_properties(hu, labels, "porosity")
    np.testing.assert_array_equal(props.density, [1000.0, 1000.0])
    np.testing.assert_array_equal(props.sound_speed, [1500.0, 1500.0])
    np.testing.assert_allclose(props.absorption_db_cm(500e3), [40.0, 40.0], rtol=1e-6)


def test_porosity_midpoint_and_soft_tissue() -> None:
    hu = np.array([500.0, 40.0])
    labels = np.array([Label.TRABECULAR, Label.BRAIN])
    props = map_properties(hu, labels, "porosity")
    phi = 0.75  # 1 - 500 / 2000
    assert props.density[0] == pytest.approx(phi * 1000 + (1 - phi) * 2200)
    assert props.sound_speed[0] == pytest.approx(1500 + 1600 * (1 - phi))
    # alpha_min + (alpha_max - alpha_min) * phi**0.5 in dB/(MHz cm) (2 and 80), evaluated at 0.5 MHz
    assert props.absorption_db_cm(500e3)[0] == pytest.approx((2.0 + 78.0 * phi**0.5) * 0.5, rel=1e-6)
    # outside bone: ITRUSST brain
    assert (props.sound_speed[1], props.density[1]) == (1560.0, 1040.0)
    assert props.absorption_db_cm(500e3)[1] == pytest.approx(0.3, rel=1e-6)


# --- shared physics -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mapping", ["kwave", "porosity"])
def test_density_increases_with_hu_in_bone(mapping: str) -> None:
    hu = np.linspace(300.0, 3000.0, 271)
    labels = np.full(hu.shape, Label.CORTICAL)
    props = map_properties(hu, labels, mapping)
    assert np.all(np.diff(props.density) >= 0) and np.all(np.diff(props.sound_speed) >= 0)
    strict_until = 3000.0 if mapping == "kwave" else 2000.0  # porosity saturates at HU_max
    inside = hu <= strict_until
    assert np.all(np.diff(props.density[inside]) > 0) and np.all(np.diff(props.sound_speed[inside]) > 0)


@pytest.mark.parametrize("y", [1.05, 1.5, 2.0, 3.0])
def test_with_alpha_power_preserves_absorption_at_frequency(y: float) -> None:
    labels = np.array(list(ITRUSST_TABLE), np.uint8)
    props = map_properties(np.zeros(labels.shape), labels, "itrusst")
    converted = props.with_alpha_power(y, 500e3)
    assert converted.alpha_power == y and converted.mapping == "itrusst"
    np.testing.assert_allclose(converted.absorption_db_cm(500e3), props.absorption_db_cm(500e3), rtol=1e-6)
    # the prefactor itself changes: 4 dB/cm at 0.5 MHz with exponent y -> 4 / 0.5**y
    assert converted.alpha_coeff[Label.CORTICAL] == pytest.approx(4.0 / 0.5**y, rel=1e-6)
    back = converted.with_alpha_power(2.0, 500e3)
    np.testing.assert_allclose(back.alpha_coeff, props.alpha_coeff, rtol=1e-6)


def test_convert_alpha_coeff_linear_to_quadratic() -> None:
    # 13.3 dB/(MHz cm) linear = 6.65 dB/cm at 500 kHz = 26.6 dB/(MHz^2 cm) * 0.25
    assert float(convert_alpha_coeff(13.3, 1.0, 2.0, 500e3)) == pytest.approx(26.6)
    with pytest.raises(TfusInputError):
        convert_alpha_coeff(1.0, 1.0, 2.0, 0.0)


def test_properties_reject_mismatched_shapes() -> None:
    with pytest.raises(TfusInputError, match="shape"):
        AcousticProperties(np.ones(3), np.ones(3), np.ones(2), 2.0, "demo")
