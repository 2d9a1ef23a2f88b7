"""Simulated fields as results: focal metrics for reports (:mod:`~tfus.pipeline.fields.metrics`) and files
(NIfTI and PNG overlays, :mod:`~tfus.pipeline.fields.output`).

Example:
    >>> from tfus.pipeline.fields.metrics import default_near_field_mm
    >>> from tfus.pipeline.transducers.bowl import load_transducer
    >>> default_near_field_mm(load_transducer("itrusst-sc1"))
    16.0
"""
