"""Validation of the wave engines against closed forms, Rayleigh integrals and the ITRUSST benchmarks.

Modules:

* :mod:`~tfus.pipeline.validation.closed_forms` — O'Neil focused bowl (on axis and focal plane, explicit and via
  k-wave-python), the exact on-axis bowl integral (also absorbing), flat piston, Green's functions.
* :mod:`~tfus.pipeline.validation.rayleigh` — Rayleigh integral of a bowl or disc in a (lossy) fluid.
* :mod:`~tfus.pipeline.validation.itrusst` — ITRUSST benchmarks BM1-BM6 as media on a grid.
* :mod:`~tfus.pipeline.validation.beam_metrics` — focal metrics and error norms as in the ITRUSST intercomparison.

Example:
    >>> from tfus.pipeline.validation.closed_forms import oneil_reference
    >>> from tfus.pipeline.transducers.bowl import load_transducer
    >>> round(oneil_reference(load_transducer("itrusst-sc1")).peak_pa / 1e6, 3)
    1.094
"""
