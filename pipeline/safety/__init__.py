"""Safety of a sonication: protocols (timing and drive), Pennes bioheat temperature and thermal dose (CEM43), flags
against the ITRUSST levels with the largest safe drive (:mod:`~tfus.pipeline.safety.limits`).

See ``pipeline/safety/README.md`` for the model, the tissue values and the closed-form validation table.

Example:
    >>> from tfus.pipeline.safety import list_protocols, load_protocol
    >>> "tbtus-zeng2022" in list_protocols(), round(load_protocol("tbtus-zeng2022").duty_cycle, 6)
    (True, 0.1)
"""

from tfus.pipeline.safety.bioheat import BioheatSolution, ThermalSettings, cem43_rate, solve_bioheat
from tfus.pipeline.safety.limits import CEM43_LIMIT_MIN, CONSENSUS, MI_LIMIT, Flag, LimitCheck, check_limits
from tfus.pipeline.safety.protocol import Protocol, list_protocols, load_protocol
from tfus.pipeline.safety.thermal import (
    THERMAL_REGIONS,
    RegionThermal,
    ThermalResult,
    heat_deposition,
    simulate_thermal,
)
from tfus.pipeline.safety.tissues import (
    BLOOD_DENSITY,
    BLOOD_SPECIFIC_HEAT,
    THERMAL_TISSUES,
    ThermalTissue,
    tissue_maps,
)

__all__ = [
    "CEM43_LIMIT_MIN",
    "CONSENSUS",
    "MI_LIMIT",
    "Flag",
    "LimitCheck",
    "check_limits",
    "BLOOD_DENSITY",
    "BLOOD_SPECIFIC_HEAT",
    "THERMAL_REGIONS",
    "THERMAL_TISSUES",
    "BioheatSolution",
    "Protocol",
    "RegionThermal",
    "ThermalResult",
    "ThermalSettings",
    "ThermalTissue",
    "cem43_rate",
    "heat_deposition",
    "list_protocols",
    "load_protocol",
    "simulate_thermal",
    "solve_bioheat",
    "tissue_maps",
]
