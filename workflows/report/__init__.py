"""The sonication planning report (``tfus report``, ``tfus demo``): a field, its head and a protocol -> one
self-contained HTML page that opens offline (pose and transducer, slices of head and field through the focus and the
target, the ITRUSST safety table with green/red flags, the temperature-rise map, an interactive NiiVue slice viewer,
timings, versions and inputs).

Example:
    >>> from tfus.workflows.report import load_plan_inputs, write_plan_report
    >>> inputs = load_plan_inputs("field.nii.gz", "heads/mni")                 # doctest: +SKIP
    >>> write_plan_report("plan.html", inputs, "tbtus-zeng2022").limits.ok     # doctest: +SKIP
    True
"""

from tfus.workflows.report.plan import PlanInputs, load_plan_inputs, write_plan_report

__all__ = ["PlanInputs", "load_plan_inputs", "write_plan_report"]
